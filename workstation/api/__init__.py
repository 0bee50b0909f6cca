"""Headless HTTP + WebSocket API served on the engine's own loop. Never imports Qt."""

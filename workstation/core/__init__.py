"""Domain types shared by every layer. Imports nothing from the project (stdlib only)."""

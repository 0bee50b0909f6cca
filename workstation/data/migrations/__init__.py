"""Alembic migrations of the candle store, shipped inside the package so installs can upgrade."""

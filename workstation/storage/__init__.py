"""Database plumbing shared by every store (candles, ledger, graduation). Imports nothing else
from the project."""

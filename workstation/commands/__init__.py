"""CLI command groups. Like cli.py, these are composition roots: they may build concrete clients."""

"""The real candles shipped in data/, imported on first launch."""

from __future__ import annotations

from pathlib import Path

from workstation.data.importer import FileFormat, ImportReport, import_file
from workstation.data.store import CandleStore

SAMPLE_FILE = "BTCUSDT-1m-2024-11-01_2024-12-31.csv.gz"
SAMPLE_VENUE = "binance"
SAMPLE_SYMBOL = "BTCUSDT"
SAMPLE_INTERVAL = "1m"


def sample_path() -> Path:
    """data/ at the project root (a frozen build must ship data/ beside the package)."""
    return Path(__file__).resolve().parents[2] / "data" / SAMPLE_FILE


def load_bundled_sample(store: CandleStore) -> ImportReport:
    """Import the sample (idempotent: a second call adds nothing)."""
    return import_file(
        store, sample_path(), venue=SAMPLE_VENUE, symbol=SAMPLE_SYMBOL, interval=SAMPLE_INTERVAL, fmt=FileFormat.CSV
    )

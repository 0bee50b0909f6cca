"""Logging: one UTC line per event, rotation with gzip, secrets scrubbed, HTTP loggers quiet."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from workstation.logs import THIRD_PARTY_HTTP_LOGGERS, configure_logging, register_secret

CANARY_KEY = "CANARYKEY7f3a9c2e"
CANARY_SECRET = "CANARYSECRETd41d8cd98f00b204e9800998ecf8427e"


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    root = logging.getLogger()
    saved_handlers, saved_filters, saved_level = list(root.handlers), list(root.filters), root.level
    folder = tmp_path / "logs"
    yield folder
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
            handler.close()
    root.filters[:] = saved_filters
    root.setLevel(saved_level)


def read_all_logs(folder: Path) -> str:
    text = ""
    for path in sorted(folder.iterdir()):
        text += gzip.open(path, "rt").read() if path.suffix == ".gz" else path.read_text()
    return text


def test_log_when_known_secret_appears_anywhere_then_every_file_line_is_scrubbed(log_dir: Path) -> None:
    configure_logging(log_dir, level="DEBUG")
    register_secret(CANARY_KEY, CANARY_SECRET)
    log = logging.getLogger("workstation.test.child")  # propagated records: handler filters must catch them
    log.debug("key=%s", CANARY_KEY)
    log.info("payload %s", {"apiSecret": CANARY_SECRET})
    try:
        raise RuntimeError(f"signing failed for {CANARY_SECRET}")
    except RuntimeError:
        log.exception("request failed")
    text = read_all_logs(log_dir)
    assert CANARY_KEY not in text and CANARY_SECRET not in text
    assert "request failed" in text and "<redacted>" in text


def test_log_when_credential_shaped_value_unknown_to_us_then_still_scrubbed(log_dir: Path) -> None:
    configure_logging(log_dir, level="DEBUG")
    logging.getLogger("pybit.somewhere").warning(
        "headers {'X-BAPI-API-KEY': 'UNSEENKEY123456', 'X-BAPI-SIGN': 'abcdef0123456789'}"
    )
    logging.getLogger("workstation.x").info("url ?api_key=UNSEENKEY123456&sign=feedbeef99")
    text = read_all_logs(log_dir)
    assert "UNSEENKEY123456" not in text and "abcdef0123456789" not in text and "feedbeef99" not in text


def test_log_when_line_written_then_one_line_with_utc_timestamp(log_dir: Path) -> None:
    configure_logging(log_dir, level="INFO")
    logging.getLogger("workstation.t").info("first\nsecond")
    [line] = read_all_logs(log_dir).strip().splitlines()
    assert line[:4].isdigit() and line[23] == "Z" and "first \\n second" in line


def test_log_when_file_exceeds_max_bytes_then_rotated_files_are_gzip_compressed(log_dir: Path) -> None:
    configure_logging(log_dir, level="INFO", max_bytes=10_000, backups=3)
    log = logging.getLogger("workstation.rot")
    for i in range(600):
        log.info("line %04d %s", i, "x" * 60)
    names = sorted(p.name for p in log_dir.iterdir())
    assert "workstation.log" in names and "workstation.log.1.gz" in names
    assert len([n for n in names if n.endswith(".gz")]) <= 3
    assert "line 0" in gzip.open(log_dir / "workstation.log.1.gz", "rt").read()


def test_configure_when_root_at_debug_then_third_party_http_loggers_stay_at_info(log_dir: Path) -> None:
    configure_logging(log_dir, level="DEBUG", modules={"urllib3": "DEBUG"})
    for name in THIRD_PARTY_HTTP_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() >= logging.INFO, name

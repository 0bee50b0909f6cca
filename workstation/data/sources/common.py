"""What every file importer returns, and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workstation.core.errors import WorkstationError
from workstation.data.arrays import CandleArrays

MAX_LISTED = 20


@dataclass(frozen=True, slots=True)
class BadRow:
    """One rejected row: where it is, which field, what it held and what was expected."""

    file: str
    line: int  # 1-based line in the file, counting a header line
    field: str
    value: str
    expected: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}={self.value!r}, expected {self.expected}"


class DataImportError(WorkstationError):
    """A file could not be imported; nothing from it was stored."""

    def __init__(self, path: Path | str, message: str, bad_rows: tuple[BadRow, ...] = ()) -> None:
        self.path = str(path)
        self.bad_rows = bad_rows
        lines = [f"{self.path}: {message}"]
        lines += [f"  {row}" for row in bad_rows[:MAX_LISTED]]
        if len(bad_rows) > MAX_LISTED:
            lines.append(f"  ... and {len(bad_rows) - MAX_LISTED} more bad rows")
        super().__init__("\n".join(lines))


@dataclass(frozen=True, slots=True, eq=False)
class ParsedFile:
    """Candles read from one file. For kind 'funding', `candles.open` holds the funding rate."""

    path: Path
    candles: CandleArrays
    kind: str = "trade"  # trade | mark | funding
    interval: str | None = None  # when the file itself says (Binance close_time, freqtrade name)
    symbol: str | None = None
    ts_unit: str = "ms"
    rows_read: int = 0
    bad_rows: tuple[BadRow, ...] = field(default=())

    def require_clean(self) -> None:
        if self.bad_rows:
            raise DataImportError(
                self.path,
                f"{len(self.bad_rows)} bad rows, nothing imported (skip_bad_rows imports the rest)",
                self.bad_rows,
            )

"""The durable paper account of a home: <home>/state/paper/, one trader at a time.

    paper = open_paper(home, cash=10_000.0)   # restored from the journal if there is one
    ...                                       # every change is on disk before it is acknowledged
    paper_lock.release()                      # (or let the process die: the OS drops the lock)

Readers (`workstation orders|positions|balances`) restore a copy with `read_paper` and never lock.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from workstation.backtest.costs import CostModel
from workstation.core.errors import WorkstationError
from workstation.exchanges.simulated.account import PaperAccount
from workstation.exchanges.simulated.client import PaperExecutionClient
from workstation.exchanges.simulated.journal import PaperJournal


def paper_dir(home: Path) -> Path:
    return home / "state" / "paper"


def journal_path(home: Path) -> Path:
    return paper_dir(home) / "account.jsonl"


def control_path(home: Path) -> Path:
    """`workstation control pause|resume` for a local trader: {"paused": bool, "by": ..., "reason": ...}."""
    return home / "state" / "control.json"


class PaperLockedError(WorkstationError):
    """Another process is trading this paper account."""


class PaperLock:
    """An exclusive OS lock on the account (released by the OS if the holder is killed)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] | None = path.open("a+b")
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(self._fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            self._fh = None
            raise PaperLockedError(f"another process is trading the paper account in {path.parent}") from None

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the lock
            self._fh = None


def open_paper(
    home: Path, *, cash: float, cost: CostModel | None = None, fsync: bool = True
) -> tuple[PaperExecutionClient, PaperLock, bool]:
    """The home's paper venue, locked for this process: (client, lock, restored)."""
    lock = PaperLock(paper_dir(home) / "lock")
    try:
        account = PaperAccount(cost=cost, cash=cash)
        journal = PaperJournal(journal_path(home), fsync=fsync)
        restored = journal.restore(account)
        return PaperExecutionClient(account, journal=journal), lock, restored
    except BaseException:
        lock.release()
        raise


def read_paper(home: Path, *, cash: float = 10_000.0) -> PaperExecutionClient | None:
    """A read-only copy of the saved paper account, or None if it never traded."""
    account = PaperAccount(cash=cash)
    path = journal_path(home)
    if not path.exists():
        return None
    # restore() may cut a torn tail; a reader must not write, so it reads a private copy
    copy = PaperJournal(path.with_name(f".read-{os.getpid()}.jsonl"), fsync=False)
    try:
        copy.path.write_bytes(path.read_bytes())
        return PaperExecutionClient(account) if copy.restore(account) else None
    finally:
        copy.path.unlink(missing_ok=True)


def read_control(home: Path) -> dict[str, Any]:
    try:
        data = json.loads(control_path(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"paused": False}
    return data if isinstance(data, dict) else {"paused": False}


def write_control(home: Path, **values: Any) -> dict[str, Any]:
    """Atomically update the local control file."""
    data = {**read_control(home), **values}
    path = control_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return data

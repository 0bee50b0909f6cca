"""Stores opened at the same moment on a fresh file (the GUI's Graduation panel and a paper
replay's risk path, or two processes) all end up on the newest schema; none fails half-way."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from sqlalchemy import create_engine

from workstation.graduation.store import MIGRATIONS, GraduationStore


def _open_and_close(path: str) -> None:
    GraduationStore.open(Path(path)).close()


def _revision(path: Path) -> str | None:
    engine = create_engine(f"sqlite:///{path}")
    try:
        return MIGRATIONS.current_revision(engine)
    finally:
        engine.dispose()


def test_store_open_when_threads_race_on_a_fresh_file_then_every_open_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "graduation.sqlite"
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def opener() -> None:
        start.wait()
        try:
            _open_and_close(str(path))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert _revision(path) == MIGRATIONS.head_revision()


def test_store_open_when_processes_race_on_a_fresh_file_then_every_open_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "graduation.sqlite"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open_and_close, args=(str(path),)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert _revision(path) == MIGRATIONS.head_revision()


def test_stores_open_when_threads_migrate_different_files_at_once_then_every_open_succeeds(tmp_path: Path) -> None:
    """Alembic keeps the running migration in module globals: two upgrades of different files at the
    same moment (a ledger and a graduation store) must not clobber each other."""
    from workstation.engine.ledger import Ledger

    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def opener(i: int) -> None:
        start.wait()
        try:
            if i % 2:
                GraduationStore.open(tmp_path / f"graduation-{i}.sqlite").close()
            else:
                Ledger.open(tmp_path / f"ledger-{i}.sqlite").close()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=opener, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []

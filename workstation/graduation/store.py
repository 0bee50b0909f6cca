"""The graduation history in its own SQLite file (<home>/state/graduation.sqlite, WAL), Alembic-managed.

The API only inserts: there is no method that updates or deletes, and the database refuses both
(triggers). A candidate's current stage is the destination of its newest transition.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select

from workstation.core.errors import WorkstationError
from workstation.graduation import schema
from workstation.graduation.models import Candidate, Evaluation, Evidence, Performance, Stage, Transition
from workstation.storage.migrations import Migrations

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class GraduationError(WorkstationError):
    """A graduation action could not be done (unknown candidate, wrong stage, ...)."""


def store_path(home: Path) -> Path:
    return home / "state" / "graduation.sqlite"


MIGRATIONS = Migrations(MIGRATIONS_DIR, schema.VERSION_TABLE)
upgrade_to_head = MIGRATIONS.upgrade_to_head


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class GraduationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, path: Path) -> GraduationStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(f"sqlite:///{path}")
        event.listen(engine, "connect", _on_connect)
        upgrade_to_head(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # --- inserts (the only writes there are) -----------------------------------------------------
    def insert_candidate(
        self,
        *,
        strategy: str,
        params: dict[str, Any],
        symbol: str,
        interval: str,
        evidence: Evidence,
        ts: int,
        by: str,
        reason: str,
    ) -> int:
        """The candidate row and its first transition (-> CANDIDATE), in one transaction."""
        with self._tx() as conn:
            cid = conn.execute(
                insert(schema.candidates).values(
                    strategy=strategy,
                    params=json.dumps(params, sort_keys=True),
                    symbol=symbol,
                    interval=interval,
                    evidence=json.dumps(evidence.to_json(), sort_keys=True),
                    created_ms=ts,
                    created_by=by,
                )
            ).inserted_primary_key[0]
            self._insert_transition(conn, cid, ts, None, Stage.CANDIDATE, reason, by, evidence.to_json())
        return int(cid)

    def insert_transition(
        self, candidate_id: int, ts: int, from_stage: Stage | None, to_stage: Stage, reason: str, by: str, metrics: dict
    ) -> None:
        with self._tx() as conn:
            current = self._stage(conn, candidate_id)
            if current is not from_stage:
                # another process moved it first: refuse rather than write a history that skips a step
                raise GraduationError(
                    f"candidate {candidate_id} is {current.value if current else 'unknown'}, not "
                    f"{from_stage.value if from_stage else 'new'}; nothing was changed"
                )
            self._insert_transition(conn, candidate_id, ts, from_stage, to_stage, reason, by, metrics)

    def _insert_transition(
        self,
        conn: Connection,
        cid: int,
        ts: int,
        from_stage: Stage | None,
        to_stage: Stage,
        reason: str,
        by: str,
        metrics: dict,
    ) -> None:
        conn.execute(
            insert(schema.transitions).values(
                candidate_id=cid,
                ts=ts,
                from_stage=None if from_stage is None else from_stage.value,
                to_stage=to_stage.value,
                reason=reason,
                by=by,
                metrics=json.dumps(metrics, sort_keys=True, default=str),
            )
        )

    def insert_evaluation(self, ev: Evaluation) -> None:
        with self._tx() as conn:
            conn.execute(
                insert(schema.evaluations).values(
                    candidate_id=ev.candidate_id,
                    ts=ev.ts,
                    stage=ev.stage.value,
                    met=ev.met,
                    days_in_stage=repr(ev.days_in_stage),
                    shortfalls=json.dumps(list(ev.shortfalls)),
                    breaches=json.dumps(list(ev.breaches)),
                    performance=json.dumps(ev.performance.to_json(), sort_keys=True),
                )
            )

    # --- reads -----------------------------------------------------------------------------------
    def _stage(self, conn: Connection, cid: int) -> Stage | None:
        t = schema.transitions
        row = conn.execute(select(t.c.to_stage).where(t.c.candidate_id == cid).order_by(t.c.id.desc()).limit(1)).first()
        return None if row is None else Stage(row[0])

    def candidate(self, cid: int) -> Candidate:
        found = self.candidates(ids=(cid,))
        if not found:
            raise GraduationError(f"no candidate {cid}")
        return found[0]

    def candidates(self, *, ids: tuple[int, ...] | None = None) -> list[Candidate]:
        c, t = schema.candidates, schema.transitions
        latest = select(t.c.candidate_id, func.max(t.c.id).label("tid")).group_by(t.c.candidate_id).subquery()
        query = (
            select(c, t.c.to_stage, t.c.ts.label("stage_ts"))
            .join(latest, latest.c.candidate_id == c.c.id)
            .join(t, t.c.id == latest.c.tid)
            .order_by(c.c.id)
        )
        if ids is not None:
            query = query.where(c.c.id.in_(ids))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Candidate(
                id=r["id"],
                strategy=r["strategy"],
                params=json.loads(r["params"]),
                symbol=r["symbol"],
                interval=r["interval"],
                evidence=Evidence.from_json(json.loads(r["evidence"])),
                created_ms=r["created_ms"],
                stage=Stage(r["to_stage"]),
                stage_since_ms=r["stage_ts"],
            )
            for r in rows
        ]

    def history(self, cid: int) -> list[Transition]:
        t = schema.transitions
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.candidate_id == cid).order_by(t.c.id)).mappings().all()
        return [
            Transition(
                id=r["id"],
                candidate_id=r["candidate_id"],
                ts=r["ts"],
                from_stage=None if r["from_stage"] is None else Stage(r["from_stage"]),
                to_stage=Stage(r["to_stage"]),
                reason=r["reason"],
                by=r["by"],
                metrics=json.loads(r["metrics"]),
            )
            for r in rows
        ]

    def evaluations(self, cid: int) -> list[Evaluation]:
        e = schema.evaluations
        with self.engine.connect() as conn:
            rows = conn.execute(select(e).where(e.c.candidate_id == cid).order_by(e.c.id)).mappings().all()
        return [
            Evaluation(
                candidate_id=r["candidate_id"],
                ts=r["ts"],
                stage=Stage(r["stage"]),
                met=bool(r["met"]),
                shortfalls=tuple(json.loads(r["shortfalls"])),
                breaches=tuple(json.loads(r["breaches"])),
                performance=Performance.from_json(json.loads(r["performance"])),
                days_in_stage=float(r["days_in_stage"]),
            )
            for r in rows
        ]

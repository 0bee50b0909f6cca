"""EngineService: what the API (and a remote GUI) can see and do, over the runtime and the kernel.

Everything here reads real state: the kernel's portfolio and ledger, the kill switch, the
settings. With no kernel running (no venue connected) lists are empty and say so; nothing is
invented."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import psutil

from workstation import __version__
from workstation.api import schemas as s
from workstation.core.enums import Category, Venue
from workstation.core.errors import WorkstationError
from workstation.engine.kernel import EngineKernel, ledger_path
from workstation.runtime import Runtime

log = logging.getLogger(__name__)

ENVIRONMENT_VENUES = {
    "paper": Venue.PAPER,
    "testnet": Venue.BYBIT_TESTNET,
    "demo": Venue.BYBIT_DEMO,
    "mainnet": Venue.BYBIT_MAINNET,
}


PAPER_ACCOUNT = "paper account"


class ConflictError(WorkstationError):
    """The action cannot run in the current state (HTTP 409)."""


def _d(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


class LoopLagMonitor:
    """Measures how late the event loop wakes a sleeper: the lag every user action would feel."""

    def __init__(self, interval_s: float = 0.25) -> None:
        self.interval_s = interval_s
        self.last_ms = 0.0
        self.max_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.interval_s)
            lag = max(0.0, (loop.time() - start - self.interval_s) * 1000)
            self.last_ms = lag
            self.max_ms = max(self.max_ms, lag)


class EngineService:
    def __init__(self, runtime: Runtime, kernel: EngineKernel | None = None) -> None:
        self.runtime = runtime
        self.kernel = kernel
        self.started = time.monotonic()
        self.paused = False
        self.lag = LoopLagMonitor()
        self._process = psutil.Process()
        self._process.cpu_percent(None)

    @property
    def venue(self) -> Venue:
        return self.runtime.settings.trading.venue

    def uptime_s(self) -> float:
        return time.monotonic() - self.started

    # --- reads ------------------------------------------------------------------------------
    def health(self) -> s.Health:
        return s.Health(
            status="ok",
            version=__version__,
            uptime_s=round(self.uptime_s(), 3),
            debug_mode=self.runtime.debug_switch.enabled,
            venue=self.venue.value,
        )

    def system_stats(self) -> s.SystemStats:
        return s.SystemStats(
            cpu_percent=self._process.cpu_percent(None),
            memory_rss_mb=round(self._process.memory_info().rss / 1e6, 1),
            memory_available_mb=round(psutil.virtual_memory().available / 1e6, 1),
            loop_lag_ms=round(self.lag.last_ms, 2),
            loop_lag_max_ms=round(self.lag.max_ms, 2),
            uptime_s=round(self.uptime_s(), 3),
        )

    def positions(self) -> list[s.PositionOut]:
        if self.kernel is None:
            return []
        portfolio = self.kernel.portfolio
        out = []
        for state in portfolio.positions():
            mark = portfolio.mark(state.symbol)
            out.append(
                s.PositionOut(
                    venue=state.venue,
                    symbol=state.symbol,
                    side=state.side.value if state.side else None,
                    size=_d(abs(state.size)) or "0",
                    entry_price=_d(state.entry_price) or "0",
                    mark_price=_d(mark),
                    unrealized_pnl=_d(state.unrealized(mark)) or "0",
                    realized_pnl=_d(state.realized_pnl) or "0",
                )
            )
        return out

    def balances(self) -> list[s.VenueBalances]:
        venue = self.venue.value
        if self.kernel is None:
            return [s.VenueBalances(venue=venue, connected=False, balances=[])]
        rows = self.kernel.portfolio.balances(self.kernel.venue)
        return [
            s.VenueBalances(
                venue=self.kernel.venue,
                connected=True,
                balances=[
                    s.BalanceOut(coin=b.coin, total=_d(b.total) or "0", available=_d(b.available) or "0") for b in rows
                ],
            )
        ]

    async def orders(self, *, open_only: bool = False) -> list[s.OrderOut]:
        if self.kernel is None:
            return []
        records = await self.kernel.ledger.call(self.kernel.ledger.orders, open_only=open_only)
        return [
            s.OrderOut(
                client_order_id=o.client_order_id,
                venue=o.venue,
                symbol=o.symbol,
                side=o.side.value,
                order_type=o.order_type.value,
                qty=_d(o.qty) or "0",
                price=_d(o.price),
                status=o.status.value,
                filled_qty=_d(o.filled_qty) or "0",
                venue_order_id=o.venue_order_id,
                created_ms=o.created_ms,
                updated_ms=o.updated_ms,
            )
            for o in (r.order for r in records)
        ]

    async def trades(self, environment: str) -> list[s.TradeOut]:
        venue = ENVIRONMENT_VENUES[environment]
        if self.kernel is None:
            return []
        fills = await self.kernel.ledger.call(self.kernel.ledger.fills, venue=venue.value)
        return [
            s.TradeOut(
                exec_id=f.exec_id,
                client_order_id=f.client_order_id,
                symbol=f.symbol,
                side=f.side.value,
                qty=_d(f.qty) or "0",
                price=_d(f.price) or "0",
                fee=_d(f.fee) or "0",
                fee_currency=f.fee_currency,
                ts=f.ts,
            )
            for f in fills
        ]

    async def risk(self) -> s.RiskOut:
        detail = await asyncio.to_thread(self._risk_detail)
        r = self.runtime.settings.risk
        return s.RiskOut(
            **detail,
            kill_switch=self.runtime.kill_switch.describe(),
            paused=self.paused,
            debug_mode=self.runtime.debug_switch.enabled,
            limits={
                "max_risk_per_trade": r.max_risk_per_trade,
                "daily_loss_limit": r.daily_loss_limit,
                "max_drawdown": r.max_drawdown,
                "max_leverage": r.max_leverage,
                "max_open_positions": float(r.max_open_positions),
            },
            open_positions=len(self.positions()),
        )

    def risk_account(self) -> tuple[str, Path, bool]:
        """The account that is trading: (label, its risk state file, dated in replay time).

        The paper account (its own <home>/state/paper/risk.json, dated in replay time) when the venue
        is paper or when the kernel being read is a paper replay's; the live state otherwise."""
        from workstation.paper.risk_path import paper_risk_path

        kernel_venue = None if self.kernel is None else self.kernel.venue
        if self.venue is Venue.PAPER or kernel_venue == Venue.PAPER.value:
            return PAPER_ACCOUNT, paper_risk_path(self.runtime.home), True
        return self.venue.value, self.runtime.state_dir / "risk.json", False

    def _risk_detail(self) -> dict[str, object]:
        """The persisted risk state (limit halts, loss budgets used) of the trading account, combined
        with the kill switch. A paper account's state is read at its own last equity time (the replay's
        clock), so its daily budget and halts are those the replay's risk engine sees."""
        from workstation.core.clock import Clock, ManualClock, SystemClock
        from workstation.risk.growth_view import growth_view
        from workstation.risk.limits import RiskLimits
        from workstation.risk.rates import ccxt_ticker
        from workstation.risk.state import RiskStateStore

        rt = self.runtime
        account, path, replay_time = self.risk_account()
        store = RiskStateStore(path, kill_switch=rt.kill_switch)
        clock: Clock = ManualClock(store.book.last_equity_ms) if replay_time else SystemClock()
        view = store.view(clock.now_ms())
        usage = RiskLimits(rt.settings.risk, store, clock).usage()
        equity = store.book.last_equity
        return {
            "account": account,
            "state_file": str(path),
            "trading_state": view.state.value,
            "reason": view.reason,
            "halts": [h.describe() for h in view.halts],
            "equity": None if equity is None else str(equity),
            "usage": {
                "daily_loss": float(usage.daily_loss),
                "daily_loss_used": float(usage.daily_used),
                "drawdown": float(usage.drawdown),
                "drawdown_used": float(usage.drawdown_used),
            },
            # balance building on the account's own clock, as its risk engine sizes (a replay's time)
            "growth": growth_view(rt.settings.risk, equity, clock.now_ms(), ccxt_ticker),
        }

    async def graduation(self) -> s.GraduationOut:
        from workstation.api.graduation_view import graduation_snapshot

        snapshot = await asyncio.to_thread(graduation_snapshot, self.runtime)
        return s.GraduationOut(**snapshot)

    # --- actions ----------------------------------------------------------------------------
    def pause(self, who: str) -> s.ActionResult:
        self.paused = True
        log.warning("bot paused by %s: strategies send no new orders", who)
        return s.ActionResult(action="pause", ok=True, detail="paused: no new orders from strategies")

    def resume(self, who: str) -> s.ActionResult:
        if self.runtime.kill_switch.engaged:
            raise ConflictError(f"kill switch is engaged ({self.runtime.kill_switch.describe()}); clear it first")
        self.paused = False
        log.warning("bot resumed by %s", who)
        return s.ActionResult(action="resume", ok=True, detail="resumed")

    async def emergency_stop(self, who: str, reason: str, close_positions: bool) -> s.ActionResult:
        self.paused = True
        self.runtime.kill_switch.engage(reason, who)
        detail = ["kill switch engaged"]
        cancelled = await self._cancel_all()
        detail.append(cancelled)
        if close_positions:
            detail.append(await self._close_all())
        return s.ActionResult(action="emergency-stop", ok=True, detail="; ".join(detail))

    async def cancel_orders(self, who: str) -> s.ActionResult:
        log.warning("cancel all orders requested by %s", who)
        return s.ActionResult(action="cancel-orders", ok=True, detail=await self._cancel_all())

    async def close_positions(self, who: str) -> s.ActionResult:
        log.warning("close all positions requested by %s", who)
        return s.ActionResult(action="close-positions", ok=True, detail=await self._close_all())

    async def _cancel_all(self) -> str:
        if self.kernel is None:
            return "no venue connected: no orders to cancel"
        acks = []
        for category in self.kernel.categories:
            acks += await self.kernel.client.cancel_all_orders(category)
        await self.kernel.sync()
        return f"{len(acks)} order(s) cancelled"

    async def _close_all(self) -> str:
        if self.kernel is None:
            return "no venue connected: no positions to close"
        closed = 0
        for state in self.kernel.portfolio.positions():
            ack = await self.kernel.client.close_position(state.symbol, Category.LINEAR)
            closed += ack is not None
        await self.kernel.sync()
        return f"{closed} position(s) closing"

    async def wipe_data(self, who: str) -> s.ActionResult:
        """Back up, then delete the ledger and the candle store. Refused while anything is open."""
        if not self.paused:
            raise ConflictError("pause the bot before wiping data")
        if self.kernel is not None:
            open_orders = await self.kernel.ledger.call(self.kernel.ledger.orders, open_only=True)
            if open_orders or self.kernel.portfolio.positions():
                raise ConflictError("open orders or positions exist: cancel and close them first")
            await self.kernel.stop()
        home = self.runtime.home
        targets = [p for p in _data_files(home) if p.exists()]
        backup = home / "backups" / f"wipe-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.zip"
        backup.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_zip, backup, home, targets)
        for path in targets:
            os.remove(path)
        log.warning("data wiped by %s; backup %s", who, backup)
        if self.kernel is not None:
            await self.kernel.start()
        return s.ActionResult(action="wipe-data", ok=True, detail=f"{len(targets)} file(s) wiped; backup at {backup}")


def _data_files(home: Path) -> list[Path]:
    files = []
    for base in (ledger_path(home), home / "candles.db"):
        files += [base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")]
    return files


def _zip(target: Path, home: Path, files: list[Path]) -> None:
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(home))
    shutil.move(tmp, target)

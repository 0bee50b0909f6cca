"""EngineKernel: wires the bus, a clock, the gated execution client, the ledger, the OMS, the
portfolio and reconciliation. Built by composition roots with a client from the SafetyGate.

    kernel = EngineKernel(client=runtime.gate.execution_client(venue, live=..., keyless=...),
                          ledger_path=ledger_path(runtime.home), bus=runtime.bus)
    await kernel.start()          # load the ledger, reconcile with the venue
    await kernel.submit(request)  # ledger first, then the venue; outcome as events on the bus

Nothing here blocks the loop: venue calls run in the client's executor, ledger writes on the
ledger's own thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal
from pathlib import Path

from workstation.bus import EventBus
from workstation.core.clock import Clock, SystemClock
from workstation.core.enums import Category, Side
from workstation.core.errors import WorkstationError
from workstation.core.types import AmendRequest, Order, OrderRequest
from workstation.engine.faults import EmergencyStopReport, KillSwitchLike, emergency_stop, submit_batch
from workstation.engine.fills import FillRecorder
from workstation.engine.funding import FundingRecorder
from workstation.engine.ledger import Ledger
from workstation.engine.oms import OmsConfig, OrderManager
from workstation.engine.portfolio import Portfolio
from workstation.engine.precheck import OrderPrecheck
from workstation.engine.reconcile import Reconciler, ReconcileReport
from workstation.engine.streams import StreamBridge
from workstation.exchanges.ports import AccountStream, ExecutionClient

log = logging.getLogger(__name__)


def ledger_path(home: Path) -> Path:
    return home / "state" / "ledger.sqlite"


class EngineKernel:
    def __init__(
        self,
        *,
        client: ExecutionClient,
        ledger_path: Path | None = None,
        ledger: Ledger | None = None,
        bus: EventBus | None = None,
        clock: Clock | None = None,
        config: OmsConfig | None = None,
        categories: tuple[Category, ...] = (Category.LINEAR,),
        poll_interval_s: float | None = None,
        precheck: OrderPrecheck | None = None,
    ) -> None:
        if (ledger is None) == (ledger_path is None):
            raise ValueError("pass exactly one of ledger or ledger_path")
        self.client = client
        self.bus = bus or EventBus()
        self.clock = clock or SystemClock()
        self.ledger = ledger or Ledger.open(ledger_path)  # type: ignore[arg-type]
        self.portfolio = Portfolio()
        self.fills = FillRecorder(
            ledger=self.ledger, portfolio=self.portfolio, bus=self.bus, clock=self.clock, venue=client.venue
        )
        self.funding = FundingRecorder(ledger=self.ledger, venue=client.venue)
        self.oms = OrderManager(
            client=client,
            ledger=self.ledger,
            fills=self.fills,
            bus=self.bus,
            clock=self.clock,
            config=config,
            precheck=precheck,
        )
        self.reconciler = Reconciler(
            oms=self.oms,
            client=client,
            ledger=self.ledger,
            portfolio=self.portfolio,
            bus=self.bus,
            clock=self.clock,
            categories=categories,
            funding=self.funding,
        )
        self.categories = categories
        self.poll_interval_s = poll_interval_s
        self._poller: asyncio.Task[None] | None = None
        self._streams: list[StreamBridge] = []
        self._started = False

    @property
    def venue(self) -> str:
        return self.client.venue

    async def start(self, *, reconcile: bool = True) -> ReconcileReport | None:
        """Load the ledger and (by default) reconcile it with the venue before anything trades."""
        await self.oms.load()
        await self.funding.load()
        self._started = True
        result = await self.reconcile() if reconcile else None
        if self.poll_interval_s:
            self._poller = asyncio.create_task(self._poll(self.poll_interval_s), name="engine-poll")
        return result

    async def reconcile(self) -> ReconcileReport:
        """Run on start and after every reconnect."""
        return await self.reconciler.run()

    async def on_reconnect(self) -> ReconcileReport:
        log.info("venue %s reconnected: reconciling", self.venue)
        return await self.reconcile()

    async def submit(self, request: OrderRequest) -> Order:
        self._require_started()
        return await self.oms.submit(request)

    async def submit_batch(self, requests: list[OrderRequest]) -> list[Order]:
        """Several orders in one venue call; each is written first and settled on its own."""
        self._require_started()
        return await submit_batch(self.oms, self.client, requests)

    async def cancel(self, client_order_id: str) -> Order:
        self._require_started()
        return await self.oms.cancel(client_order_id)

    async def amend(self, request: AmendRequest) -> Order:
        self._require_started()
        return await self.oms.amend(request)

    async def round_stops(
        self, symbol: str, category: Category, side: Side, stop_loss: Decimal | None, take_profit: Decimal | None
    ) -> tuple[Decimal | None, Decimal | None]:
        """A `side` position's stop-loss/take-profit on the instrument's tick, before set_trading_stop
        (OrderInvalid when one cannot be made valid). Unchanged without a precheck (paper)."""
        precheck = self.oms.precheck
        if precheck is None:
            return stop_loss, take_profit
        return await precheck.check_stops(symbol, category, side, stop_loss, take_profit)

    async def emergency_stop(
        self, kill_switch: KillSwitchLike, reason: str, *, by: str = "user", flatten: bool = False
    ) -> EmergencyStopReport:
        """Engage the kill switch (persisted: it survives restarts), then cancel every open order
        (and, with `flatten`, close positions) through the gate, which lets risk-reducing calls pass."""
        self._require_started()
        return await emergency_stop(self, kill_switch, reason, by=by, flatten=flatten)

    def attach_stream(self, stream: AccountStream, *, fallback_poll_s: float = 5.0) -> StreamBridge:
        """Feed a private stream into the engine; REST polling covers whenever it is down."""
        self._require_started()
        bridge = StreamBridge(self, stream, fallback_poll_s=fallback_poll_s)
        self._streams.append(bridge)
        bridge.start()
        return bridge

    async def sync(self) -> int:
        """Retry unsaved ledger writes and pull new executions (fills, then funding settlements).
        Returns the number of new fills."""
        await self.oms.flush()
        new = 0
        for category in self.categories:
            new += (await self.oms.sync_fills(category))[0]
            await self.funding.sync(self.client, category)
        return new

    async def _poll(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.sync()
            except WorkstationError as exc:
                log.warning("engine poll: %s", exc)

    async def stop(self) -> None:
        for bridge in self._streams:
            await bridge.stop()
        self._streams.clear()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._started:
            with contextlib.suppress(WorkstationError):
                await self.oms.flush()
        self.ledger.close()

    async def __aenter__(self) -> EngineKernel:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _require_started(self) -> None:
        if not self._started:
            raise RuntimeError("EngineKernel.start() must run before trading (it loads the ledger)")

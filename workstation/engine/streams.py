"""StreamBridge: feeds a venue's private stream into the engine, and covers for it when it's down.

    bridge = kernel.attach_stream(stream)   # starts the stream; kernel.stop() stops it

- order reports go to OrderManager.apply_report (status never goes backwards, so duplicates and
  the two Filled messages of a cancel/fill race change nothing), executions to ingest_fill
  (de-duplicated by exec id), funding settlements to the ledger (once each, by exec id; the REST
  sync delivers them too), wallet updates to the portfolio;
- every connect (the first one too) triggers a REST reconciliation, because the stream never
  replays what was missed and the wallet topic sends no snapshot on subscribe;
- while the stream is down (or has never connected) the engine polls the venue over REST every
  `fallback_poll_s`, and says so with a StreamStatusChanged event; the stream keeps retrying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from workstation.core.enums import Category
from workstation.core.errors import WorkstationError
from workstation.core.funding import FundingPayment
from workstation.core.types import Balance, Fill, Order, Position
from workstation.core.venue_events import StreamAlert, StreamStatusChanged, VenueHalted
from workstation.engine.reconcile import ReconcileReport
from workstation.exchanges.ports import AccountStream

if TYPE_CHECKING:
    from workstation.engine.kernel import EngineKernel

log = logging.getLogger(__name__)


class StreamBridge:
    """Implements AccountStreamSink for one kernel."""

    def __init__(self, kernel: EngineKernel, stream: AccountStream, *, fallback_poll_s: float = 5.0) -> None:
        self._kernel = kernel
        self.stream = stream
        self.fallback_poll_s = fallback_poll_s
        self.venue_positions: dict[str, Position] = {}
        self.resyncs = 0
        self.last_resync: ReconcileReport | None = None
        self._resync_lock = asyncio.Lock()
        self._resyncs: set[asyncio.Task[ReconcileReport | None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._was_connected: bool | None = None
        self._stopped = False

    @property
    def connected(self) -> bool:
        return self.stream.connected

    @property
    def polling(self) -> bool:
        return self._poller is not None and not self._poller.done()

    def start(self) -> None:
        self._kernel.bus.subscribe(VenueHalted, self._on_halted)
        self.stream.start(self)
        self._start_polling()  # until the stream proves itself, REST keeps the engine current

    async def stop(self) -> None:
        self._stopped = True
        self._kernel.bus.unsubscribe(VenueHalted, self._on_halted)
        await self.stream.stop()
        for task in [self._poller, *self._resyncs]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._poller = None
        self._resyncs.clear()

    # --- AccountStreamSink --------------------------------------------------------------------
    async def stream_connected(self) -> None:
        self._stop_polling()
        self._status(True, "private stream connected; resyncing over REST")
        # In a task: the stream must keep reading (and pinging) while REST catches up.
        task = asyncio.create_task(self.resync(reconnect=True), name=f"resync-{self.stream.venue}")
        self._resyncs.add(task)
        task.add_done_callback(self._resyncs.discard)

    async def stream_disconnected(self, reason: str) -> None:
        if self._stopped:
            return
        fallback = f"REST polling every {self.fallback_poll_s:g} s"
        if self._was_connected is not False:
            log.warning("private stream %s down (%s): %s meanwhile", self.stream.venue, reason, fallback)
        self._status(False, reason, fallback)
        self._start_polling()

    async def stream_alert(self, reason: str) -> None:
        self._kernel.bus.publish(StreamAlert(venue=self.stream.venue, reason=reason))

    async def stream_orders(self, orders: Sequence[tuple[Category, Order]]) -> None:
        oms = self._kernel.oms
        for category, order in orders:
            await oms.apply_report(order, category)

    async def stream_fills(self, fills: Sequence[tuple[Category, Fill]]) -> None:
        for _category, fill in sorted(fills, key=lambda cf: (cf[1].ts, cf[1].exec_id)):
            await self._kernel.oms.ingest_fill(fill)

    async def stream_funding(self, payments: Sequence[tuple[Category, FundingPayment]]) -> None:
        for _category, payment in sorted(payments, key=lambda cp: (cp[1].ts, cp[1].exec_id)):
            await self._kernel.funding.ingest(payment, source="stream")

    async def stream_positions(self, positions: Sequence[Position]) -> None:
        # Positions are folded from fills; the venue's view is kept for display and compared by
        # reconciliation (which only adopts it when the execution list is stable).
        for position in positions:
            self.venue_positions[position.symbol] = position

    async def stream_balances(self, balances: Sequence[Balance]) -> None:
        if balances:
            self._kernel.portfolio.set_balances(self.stream.venue, list(balances))

    # --- REST side ----------------------------------------------------------------------------
    async def resync(self, *, reconnect: bool = False) -> ReconcileReport | None:
        async with self._resync_lock:
            try:
                report = await (self._kernel.on_reconnect() if reconnect else self._kernel.reconcile())
            except WorkstationError as exc:
                log.warning("resync after reconnect failed: %s", exc)
                return None
            self.resyncs += 1
            self.last_resync = report
            return report

    def _start_polling(self) -> None:
        if not self.polling and not self._stopped:
            self._poller = asyncio.create_task(self._poll(), name=f"rest-fallback-{self.stream.venue}")

    def _stop_polling(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.fallback_poll_s)
            await self.resync()

    def _status(self, connected: bool, reason: str, fallback: str = "") -> None:
        if self._was_connected is connected:
            return
        self._was_connected = connected
        self._kernel.bus.publish(
            StreamStatusChanged(venue=self.stream.venue, connected=connected, reason=reason, fallback=fallback)
        )

    async def _on_halted(self, event: VenueHalted) -> None:
        if event.venue == self.stream.venue:
            log.critical("venue %s halted: stopping its stream and REST polling", event.venue)
            await self.stop()

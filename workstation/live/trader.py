"""`workstation trade --env testnet|demo|mainnet`: a strategy on live candles through the one order path.

    warm-up (REST klines) -> confirmed klines (public stream) -> StrategyRunner
        -> RiskEngine -> OMS + ledger -> SafetyGate -> Bybit (pybit, in a thread)

At each confirmed bar the runner first settles the bar that just closed (pull executions, balances,
mark), then acts at the next bar's open, priced at the close it just saw. Debug mode loads no key:
the gate denies every order (each denial is printed) and the strategy sizes against an account of
`trading.paper_balance` that never trades; the ledger is not reconciled against it. Otherwise the
kernel reconciles with the venue first, follows the private stream (REST polling covers it) and
the runner resumes an open position as acted on. A graduation candidate of the venue's stage
(TESTNET on testnet, LIVE on mainnet; demo has no stage) trades under its id and is held to its
backtest's Monte Carlo band as on paper (paper.trading.watch_candidate): below it, its allocation is
cut, then it is demoted, with the reason and the numbers in its history. A restart first gives the
monitor the candidate's trades closed since it entered the stage, from the ledger. Once demoted
(in the run or already at the restart), the trader says so, closes the candidate's position through
the normal order path and stops (`stopped_by = "demoted"`; live.demotion).

It holds the home's trader lock (the paper trader's; one trader per home), so `workstation control`
asks it through the control file, which it polls while it follows the bars: an emergency stop,
cancel-all or close-all acts at once, not at the next bar's close; pause/resume apply to the next bar.

Every bar it trades on (the warm-up, each confirmed and each REST-backfilled bar) is upserted into
the home's candle store under the market data's venue name (feed.market_data_venue), off the event
loop; so are a strategy's declared inputs (peer candles, funding; live.inputs), which are fed live
and bound to the strategy as the backtest binds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from workstation.backtest.costs import CostModel
from workstation.core.enums import Category, Side, Venue
from workstation.core.errors import WorkstationError
from workstation.core.events import OrderDenied, OrderFilled, OrderRejected, RiskDenied
from workstation.data.arrays import CandleArrays
from workstation.data.intervals import interval_ms
from workstation.data.sources.bybit import bybit_interval
from workstation.exchanges.bybit.public_stream import BybitPublicStream, kline_topic
from workstation.exchanges.simulated import PaperExecutionClient
from workstation.graduation.watch import CandidateWatch
from workstation.live.demotion import close_demoted, new_demotion
from workstation.live.feed import (
    CandleHistory,
    FeedGroup,
    KlineFeed,
    market_data_venue,
    next_open,
    public_url,
    rest_fetcher,
    rest_host,
)
from workstation.live.inputs import LiveInputs
from workstation.live.record import BarRecorder
from workstation.paper.risk_path import build_risk_path
from workstation.paper.runner import Intent, StrategyRunner
from workstation.paper.session import candle_store_path
from workstation.paper.store import PaperLock, PaperLockedError, paper_dir
from workstation.paper.trading import ControlWatcher, poll_control, watch_candidate
from workstation.runtime import Runtime
from workstation.strategies.base import Strategy
from workstation.wiring import build_engine

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class LiveSpec:
    venue: Venue
    symbol: str
    interval: str
    warmup_bars: int = 500
    bars: int | None = None  # stop after this many confirmed bars
    duration_s: float | None = None  # stop after this long
    candidate_id: int | None = None  # the graduation candidate traded as, when several qualify


@dataclass
class LiveSummary:
    debug: bool
    bars: int = 0
    orders_sent: int = 0
    refusals: int = 0
    denials: int = 0
    fills: int = 0
    duplicates: int = 0
    backfilled: int = 0
    position: float = 0.0
    stopped_by: str = ""
    allocation_changes: int = 0  # the performance monitor's cuts (and restores) of the candidate's size
    demotions: tuple[str, ...] = ()  # the candidate's demotions by the monitor, as the history records them
    store_failures: int = 0  # writes of market data to the candle store that failed (trading went on)


class LiveRunner(StrategyRunner):
    """The runner, remembering the strategy's target at the last bar (NaN: no signal)."""

    signal = float("nan")

    def intent(self, history: CandleArrays) -> Intent | None:
        intent = super().intent(history)
        self.signal = float("nan") if intent is None else intent.target
        return intent


async def trade_live(
    runtime: Runtime, spec: LiveSpec, strategy: Strategy, *, echo: Echo, stop: asyncio.Event | None = None
) -> LiveSummary:
    """Trade until --bars/--duration, a stop or a demotion, holding the home's trader lock: `workstation
    control` finds this trader by it and speaks to it through the control file (polled while it runs)."""
    try:
        lock = PaperLock(paper_dir(runtime.home) / "lock")
    except PaperLockedError:
        raise WorkstationError(
            f"another `workstation trade` is running on {runtime.home}: one trader per home "
            "(they share its ledger, risk state and `workstation control`)"
        ) from None
    try:
        return await _trade(runtime, spec, strategy, echo, stop or asyncio.Event())
    finally:
        lock.release()


async def _trade(runtime: Runtime, spec: LiveSpec, strategy: Strategy, echo: Echo, stop: asyncio.Event) -> LiveSummary:
    debug = runtime.debug_switch.enabled
    bybit = runtime.settings.exchanges.bybit
    cost = CostModel()
    reads = PaperExecutionClient(cash=runtime.settings.trading.paper_balance, venue=spec.venue) if debug else None
    engine = build_engine(runtime, poll_interval_s=None if debug else 5.0, debug_reads=reads)
    if engine is None or engine.bybit is None:
        raise WorkstationError(f"no engine for {spec.venue.value}")
    kernel = engine.kernel
    summary = LiveSummary(debug)
    counts = {"denied": 0, "fills": 0}

    def on_denied(e: OrderDenied) -> None:
        counts["denied"] += 1
        echo(f"DENIED {e.action} {e.symbol or ''} {e.client_order_id or ''}: {e.reason}")

    def on_rejected(e: OrderRejected) -> None:
        echo(f"REJECTED {e.client_order_id} (code {e.code}): {e.reason}")

    def on_fill(e: OrderFilled) -> None:
        counts["fills"] += 1
        echo(f"FILL {e.symbol} {e.side.value} {e.qty} @ {e.price} ({e.client_order_id or 'protective exit'})")

    def on_risk_denied(e: RiskDenied) -> None:
        echo(f"RISK DENIED {e.side.value} {e.symbol} [{e.state.value}]: {e.reason}")

    runtime.bus.subscribe(OrderDenied, on_denied)
    runtime.bus.subscribe(OrderRejected, on_rejected)
    runtime.bus.subscribe(OrderFilled, on_fill)
    runtime.bus.subscribe(RiskDenied, on_risk_denied)
    stream: BybitPublicStream | None = None
    watch: CandidateWatch | None = None
    synced = False
    recorder = BarRecorder(candle_store_path(runtime.home), market_data_venue(spec.venue), echo=echo)
    try:
        if debug:
            await kernel.start(reconcile=False)  # nothing of the real account is known: never reconcile
        else:
            await engine.start(runtime)
        step = interval_ms(spec.interval)
        base_url = str(bybit.base_url) if bybit.base_url else None

        def fetcher(symbol: str) -> Callable[[int, int], CandleArrays]:
            return rest_fetcher(spec.venue, symbol, spec.interval, base_url, bybit.timeout_s)

        fetch = fetcher(spec.symbol)
        keep = max(spec.warmup_bars, 10 * strategy.warmup, 1000)
        history = CandleHistory(step, fetch, keep=keep, on_bars=recorder.recording(spec.symbol, spec.interval))
        now = int(time.time() * 1000)
        start = now - spec.warmup_bars * step
        history.warm(await asyncio.to_thread(fetch, start, now + step))
        echo(f"WARM {len(history.bars)} closed {spec.interval} bar(s) of {spec.symbol} from the venue's REST klines")
        inputs = LiveInputs(
            strategy, spec.symbol, spec.interval, step, keep, host=rest_host(spec.venue, base_url),
            timeout_s=bybit.timeout_s, peer_fetch=fetcher, recorder=recorder, echo=echo,
            peer_wait_s=runtime.settings.trading.live.peer_wait_s,
        )  # fmt: skip
        await inputs.warm(int(history.bars.ts[0]) if len(history.bars) else start, now + step)
        live_state = runtime.state_dir / "risk.json"  # the live trading state, not the paper account's
        risk = build_risk_path(
            runtime,
            spec.symbol,
            spec.interval,
            strategy.label(),
            cost,
            state_path=live_state,
            candidate_id=spec.candidate_id,
        )
        watch = watch_candidate(runtime, risk, echo)  # a TESTNET/LIVE candidate is held to its band too
        if not debug:  # its trades closed by earlier runs since it entered the stage: the window carries on
            watch.resume(kernel.ledger, spec.venue.value)
        with contextlib.suppress(WorkstationError):
            inst = await engine.bybit.precheck.instruments.get(spec.symbol, Category.LINEAR)
            if inst is not None:
                risk.instrument = inst  # size on the venue's own quantity step
        runner = LiveRunner(kernel, inputs.bind(strategy), spec.symbol, cost, window=keep, prefix="lv", risk=risk)
        await runner.resume(history.bars)
        demoted = new_demotion(watch, 0)  # already by the trades the restart resumed: close, never follow
        if demoted is not None:
            await close_demoted(runner, watch, demoted, history.bars, step, echo)
            summary.stopped_by = "demoted"
        else:
            watcher = ControlWatcher(runtime, kernel, echo)
            code = bybit_interval(spec.interval)
            feed = KlineFeed(spec.symbol, code, echo)
            feeds = [feed, *inputs.feeds(code)]
            url = public_url(spec.venue, str(bybit.public_stream_url) if bybit.public_stream_url else None)
            stream = BybitPublicStream(url, [kline_topic(f.symbol, code) for f in feeds])
            stream.start(FeedGroup(feeds))
            echo(
                f"READY {spec.symbol} {spec.interval} {strategy.label()} on {spec.venue.value}: waiting for closed bars"
            )
            bars = _Bars(feed, history, inputs, strategy, watch)
            summary.stopped_by = await _follow(spec, bars, runner, watcher, stop, summary, echo)
        if not debug:  # the fills of the last bar's orders (a demotion's closing one too), before they are counted
            with contextlib.suppress(WorkstationError):
                await kernel.sync()
            synced = True
        summary.duplicates, summary.backfilled = history.duplicates, history.backfilled
        summary.orders_sent, summary.refusals = runner.orders_sent, runner.refusals
        summary.denials, summary.fills = counts["denied"], counts["fills"]
        summary.allocation_changes, summary.demotions = watch.allocation_changes, tuple(watch.demotions)
        with contextlib.suppress(WorkstationError):
            for p in await kernel.client.fetch_positions(Category.LINEAR, spec.symbol):
                if p.side is not None and p.size:
                    summary.position = float(p.size) * (1.0 if p.side is Side.BUY else -1.0)
        return summary
    finally:
        if stream is not None:
            await stream.stop()
        await recorder.close()
        summary.store_failures = recorder.failures
        if not debug and not synced:
            with contextlib.suppress(WorkstationError):
                await kernel.sync()
        await kernel.stop()
        if watch is not None:
            watch.close()


@dataclass
class _Bars:
    """The traded series' feed and history, and the strategy's other series."""

    feed: KlineFeed
    history: CandleHistory
    inputs: LiveInputs
    strategy: Strategy
    watch: CandidateWatch


async def _follow(
    spec: LiveSpec,
    bars: _Bars,
    runner: LiveRunner,
    watcher: ControlWatcher,
    stop: asyncio.Event,
    summary: LiveSummary,
    echo: Echo,
) -> str:
    """Run the bar cycle until a stop: 'signal', 'duration', 'bars' or 'demoted'."""
    deadline = None if spec.duration_s is None else time.monotonic() + spec.duration_s
    stopping = asyncio.create_task(stop.wait())
    control = asyncio.create_task(poll_control(watcher), name="control-poll")  # an emergency stop acts at once
    try:
        while True:
            if spec.bars is not None and summary.bars >= spec.bars:
                return "bars"
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            getting = asyncio.create_task(bars.feed.queue.get())
            done, _ = await asyncio.wait({getting, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if getting not in done:
                getting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getting
                return "signal" if stopping in done else "duration"
            candle = getting.result()
            if not await bars.history.accept(candle):
                echo(f"SKIP bar {candle.ts}: already seen (duplicate or out of order)")
                continue
            await bars.inputs.before_bar(candle.ts)
            runner.strategy = bars.inputs.bind(bars.strategy)  # the peers' and funding's bars so far
            await watcher.poll()
            await runner.on_close(candle)  # settling the bar may close a trade, and that may demote
            demoted = new_demotion(bars.watch, 0)
            if demoted is not None:  # its position is closed instead of acting on the bar; the bar line is the last
                await close_demoted(runner, bars.watch, demoted, bars.history.bars, bars.history.step_ms, echo)
            elif not watcher.paused():
                await _open(runner, bars.history)
            summary.bars += 1
            echo(
                f"BAR {spec.symbol} {candle.ts} close {candle.close:g}; signal {runner.signal:g}; "
                f"target {runner.acted:g}"
            )
            if demoted is not None:
                return "demoted"
    finally:
        for task in (stopping, control):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _open(runner: StrategyRunner, history: CandleHistory) -> None:
    """After the bar that closed is settled, the strategy acts at the next open, priced at this close."""
    await runner.on_open(history.bars, next_open(history.bars, history.step_ms))

"""`workstation trade`: run a strategy through the engine's order path on one environment."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from workstation.commands.common import EXIT_CONFIG, EXIT_FAILED, GlobalOptions, fail, options, out_console
from workstation.core.enums import Venue
from workstation.core.errors import WorkstationError

if TYPE_CHECKING:
    from workstation.live.trader import LiveSpec, LiveSummary
    from workstation.runtime import Runtime
    from workstation.strategies.base import Strategy

ENVIRONMENTS = {
    "paper": Venue.PAPER,
    "testnet": Venue.BYBIT_TESTNET,
    "demo": Venue.BYBIT_DEMO,
    "mainnet": Venue.BYBIT_MAINNET,
}
_RANGE = re.compile(r"^(?P<start>.*?):(?P<end>|\d{4}-.*|\d{10,})$")


def parse_range(text: str) -> tuple[int | None, int | None]:
    """START:END, each an ISO date/datetime (UTC) or ms, either may be empty; END is exclusive."""
    from workstation.data.intervals import parse_time

    match = _RANGE.match(text.strip())
    if match is None:
        raise ValueError(f"--replay wants START:END (e.g. 2024-11-01:2024-11-02), got {text!r}")
    start, end = (parse_time(p) if p else None for p in (match["start"], match["end"]))
    if start is not None and end is not None and end <= start:
        raise ValueError(f"--replay {text!r}: END must be after START")
    return start, end


def _with_venue(ctx: typer.Context, venue: Venue, confirm_mainnet: bool) -> GlobalOptions:
    opts = options(ctx)
    opts.overrides = (*opts.overrides, f"trading.venue={venue.value}")  # must be in trading.allowed_venues
    opts.runtime(confirm_mainnet=confirm_mainnet)
    return opts


def trade(
    ctx: typer.Context,
    strategy: Annotated[str, typer.Option("--strategy", help="A built-in strategy (sma_cross, ema_cross, ...).")],
    symbol: Annotated[str, typer.Option("--symbol", help="e.g. BTCUSDT")] = "BTCUSDT",
    interval: Annotated[str, typer.Option("--interval", help="Candle interval, e.g. 1m")] = "1m",
    env: Annotated[str, typer.Option("--env", help="paper | testnet | demo | mainnet")] = "paper",
    param: Annotated[list[str] | None, typer.Option("--param", help="name=value (repeatable)")] = None,
    replay_range: Annotated[
        str | None,
        typer.Option("--replay", metavar="START:END", help="Paper: replay stored candles in this UTC range."),
    ] = None,
    speed: Annotated[float, typer.Option("--speed", help="Candles per second (0 = as fast as possible).", min=0)] = 0,
    confirm_mainnet: Annotated[
        bool, typer.Option("--confirm-mainnet", help="Mainnet only: confirm that real money is intended.")
    ] = False,
    no_risk: Annotated[
        bool,
        typer.Option(
            "--no-risk",
            help="Paper only: size with the backtest's sizer instead of the risk manager (for comparisons).",
        ),
    ] = False,
    bars: Annotated[
        int | None, typer.Option("--bars", min=1, help="Live venues: stop after this many closed candles.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0, metavar="SECONDS", help="Live venues: stop after this long.")
    ] = None,
    warmup: Annotated[
        int, typer.Option("--warmup", min=1, max=5000, help="Live venues: closed candles fetched before trading.")
    ] = 500,
    candidate: Annotated[
        int | None,
        typer.Option(
            "--candidate",
            metavar="ID",
            help="The graduation candidate this run trades as, when several of the venue's stage match.",
        ),
    ] = None,
) -> None:
    """Trade a strategy: paper replays stored history through the OMS, ledger and the durable paper
    venue (a restart resumes where it stopped); testnet/demo/mainnet warm up from the venue's
    klines and follow its closed candles, every order through the risk manager and the SafetyGate
    (debug mode: each one DENIED and shown)."""
    from workstation.strategies.builtin import build

    if env not in ENVIRONMENTS:
        fail(f"--env must be one of {', '.join(ENVIRONMENTS)}, not {env!r}", EXIT_CONFIG)
    venue = ENVIRONMENTS[env]
    try:
        start, end = parse_range(replay_range) if replay_range else (None, None)
        params: dict[str, str] = {}
        for item in param or []:
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--param {item!r} is not name=value")
            params[name.strip()] = value.strip()
        strat = build(strategy, params)
    except (ValueError, KeyError) as exc:
        fail(f"error: {exc}", EXIT_CONFIG)
    rt = _with_venue(ctx, venue, confirm_mainnet).runtime(confirm_mainnet=confirm_mainnet)
    debug = rt.debug_switch.enabled
    out_console.print(
        f"trade {strat.label()} {symbol} {interval} on {venue.value}; debug mode "
        + ("ON: every order will be DENIED and shown" if debug else "OFF"),
        markup=False,
    )
    if rt.kill_switch.engaged:
        out_console.print(f"kill switch ENGAGED ({rt.kill_switch.describe()}): new orders will be denied", markup=False)
    if no_risk and candidate is not None:
        fail("--candidate trades as a graduation candidate, through the risk manager: drop --no-risk", EXIT_CONFIG)
    if not no_risk:
        _check_candidate(rt, venue, symbol.upper(), interval, strat, candidate)
    if venue is not Venue.PAPER:
        _real_venue(ctx, venue, debug, confirm_mainnet, replay_range)
        from workstation.live.trader import LiveSpec

        _run_live(rt, LiveSpec(venue, symbol.upper(), interval, warmup, bars, duration, candidate), strat)
        return
    from workstation.paper.session import ReplaySpec
    from workstation.paper.trading import trade_paper

    def echo(line: str) -> None:
        out_console.print(line, markup=False)

    spec = ReplaySpec(symbol.upper(), interval, strategy)
    try:
        summary = asyncio.run(
            trade_paper(
                rt, spec, strat, start=start, end=end, speed=speed, echo=echo, risk=not no_risk, candidate_id=candidate
            )
        )
    except LookupError as exc:
        fail(f"error: {exc.args[0] if exc.args else exc}")
    except WorkstationError as exc:
        fail(f"error: {exc}")
    echo(
        f"DONE {summary.bars} new candle(s); {summary.orders_sent} order(s) sent, {summary.refusals} refused, "
        f"{summary.denials} denial(s), {summary.fills} fill(s); "
        + (
            f"risk: {summary.risk_decisions} decision(s), {summary.risk_denials} denied; "
            if not no_risk
            else "risk manager OFF; "
        )
        + f"position {summary.position:g} {symbol}; "
        f"cash {summary.cash:.2f}, equity {summary.equity:.2f}"
    )
    if summary.bars == 0 and summary.restored:
        echo("nothing new to replay: the paper account already saw these candles (see `workstation orders`)")


def _check_candidate(
    rt: Runtime, venue: Venue, symbol: str, interval: str, strat: Strategy, chosen: int | None
) -> None:
    """Before any connection: which graduation candidate this run trades as is unambiguous (several
    of the venue's stage on this strategy need --candidate ID) and is said."""
    from workstation.graduation.tagging import CandidateChoiceError, trading_candidate

    try:
        cand = trading_candidate(rt.home, venue, symbol, interval, strat.label(), chosen)
    except CandidateChoiceError as exc:
        fail(f"error: {exc}", EXIT_CONFIG)
    if cand is not None:
        out_console.print(f"trading as graduation candidate #{cand.id} ({cand.stage.value})", markup=False)


def _real_venue(ctx: typer.Context, venue: Venue, debug: bool, confirm_mainnet: bool, replay: str | None) -> None:
    """The conditions for trading a real venue (mainnet: debug off, confirmed, a passing doctor)."""
    if replay is not None:
        fail("--replay runs on the paper venue only (use --env paper)", EXIT_CONFIG)
    if venue is Venue.BYBIT_MAINNET:
        if debug:
            fail("mainnet refused: debug mode is on (set debug_mode=false)", EXIT_FAILED)
        if not confirm_mainnet:
            fail("mainnet refused: pass --confirm-mainnet to trade real money", EXIT_FAILED)
        from workstation.commands.doctor import doctor

        try:
            ctx.invoke(doctor, ctx=ctx, as_json=False, confirm_mainnet=True, offline=False, timeout=3.0)
        except typer.Exit as exc:
            if exc.exit_code:
                fail("mainnet refused: `workstation doctor --confirm-mainnet` did not pass", EXIT_FAILED)
    if debug:
        out_console.print(
            f"DENIED every order to {venue.value}: debug mode is on; no key is loaded and nothing is sent",
            markup=False,
        )


def _run_live(rt: Runtime, spec: LiveSpec, strat: Strategy) -> None:
    """Follow the venue's closed candles until --bars/--duration, Ctrl-C or SIGTERM; stop cleanly."""
    from workstation.live.trader import trade_live

    def echo(line: str) -> None:
        out_console.print(line, markup=False)

    async def main() -> LiveSummary:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: Ctrl-C raises instead
                loop.add_signal_handler(sig, stop.set)
        return await trade_live(rt, spec, strat, echo=echo, stop=stop)

    try:
        summary = asyncio.run(main())
    except KeyboardInterrupt:
        fail("interrupted", EXIT_FAILED)
    except WorkstationError as exc:
        fail(f"error: {exc}")
    echo(
        f"DONE {summary.bars} closed candle(s) ({summary.stopped_by}); {summary.orders_sent} order(s) sent, "
        f"{summary.refusals} refused, {summary.denials} denial(s), {summary.fills} fill(s); "
        f"{summary.duplicates} duplicate bar(s) skipped, {summary.backfilled} fetched over REST; "
        f"position {summary.position:g} {spec.symbol}"
        + ("; debug mode: nothing was sent" if summary.debug else "")
        + (f"; stopped: the candidate was demoted ({summary.demotions[-1]})" if summary.stopped_by == "demoted" else "")
    )

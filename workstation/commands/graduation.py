"""`workstation graduation list|show|add|evaluate|approve|demote|retire`."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from workstation.commands.common import EXIT_FAILED, fail, options, out_console
from workstation.commands.graduation_measure import MeasureOptions, candidate_trading, measured
from workstation.commands.probes import probe_for
from workstation.core.clock import SystemClock, utc_iso
from workstation.core.enums import Venue
from workstation.core.errors import SecretsError, WorkstationError
from workstation.graduation.models import Candidate, Evidence, Performance, Stage
from workstation.graduation.pipeline import ApprovalRefused, DoctorVerdict, GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.runtime import Runtime
from workstation.safety.preflight import KeyPresence, PreflightContext, SecretsBackendState, Status, run_preflight

app = typer.Typer(help="Strategy graduation: CANDIDATE -> PAPER -> TESTNET -> LIVE, on evidence.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _pipeline(ctx: typer.Context) -> Iterator[tuple[Runtime, GraduationPipeline]]:
    rt = options(ctx).runtime()
    store = GraduationStore.open(store_path(rt.home))
    try:
        yield rt, GraduationPipeline(store, rt.settings.graduation, bus=rt.bus, clock=SystemClock())
    except WorkstationError as exc:
        fail(f"error: {exc}")
    finally:
        store.close()


def _row(c: Candidate) -> dict[str, Any]:
    return {
        "id": c.id,
        "strategy": c.strategy,
        "params": c.params,
        "symbol": c.symbol,
        "interval": c.interval,
        "stage": c.stage.value,
        "venue": None if c.venue is None else c.venue.value,
        "stage_since": utc_iso(c.stage_since_ms),
        "strategy_id": c.strategy_id,
    }


@app.command("list")
def list_(
    ctx: typer.Context,
    stage: Annotated[Stage | None, typer.Option("--stage", case_sensitive=False, help="Only this stage.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the candidates and their stages."""
    with _pipeline(ctx) as (_rt, pipeline):
        rows = [_row(c) for c in pipeline.candidates(stage)]
    if as_json:
        out_console.print_json(json.dumps(rows))
        return
    table = Table("id", "strategy", "symbol", "interval", "stage", "venue", "since")
    for r in rows:
        table.add_row(
            str(r["id"]), r["strategy"], r["symbol"], r["interval"], r["stage"], r["venue"] or "-", r["stage_since"]
        )
    out_console.print(table if rows else "no candidates")


@app.command("show")
def show(
    ctx: typer.Context, candidate_id: Annotated[int, typer.Argument(metavar="ID")], as_json: JsonOpt = False
) -> None:
    """One candidate: its evidence, every transition with its reason, and the latest evaluation."""
    with _pipeline(ctx) as (_rt, pipeline):
        cand = pipeline.get(candidate_id)
        history = pipeline.history(candidate_id)
        evaluations = pipeline.evaluations(candidate_id)
    latest = evaluations[-1] if evaluations else None
    data = {
        **_row(cand),
        "evidence": cand.evidence.to_json(),
        "history": [
            {
                "at": utc_iso(t.ts),
                "from": None if t.from_stage is None else t.from_stage.value,
                "to": t.to_stage.value,
                "by": t.by,
                "reason": t.reason,
                "metrics": t.metrics,
            }
            for t in history
        ],
        "latest_evaluation": None
        if latest is None
        else {
            "at": utc_iso(latest.ts),
            "stage": latest.stage.value,
            "met": latest.met,
            "shortfalls": list(latest.shortfalls),
            "breaches": list(latest.breaches),
            "performance": latest.performance.to_json(),
        },
    }
    if as_json:
        out_console.print_json(json.dumps(data, default=str))
        return
    from workstation.strategies.base import format_params

    out_console.print(f"#{cand.id} {cand.strategy_id} ({format_params(cand.params)}): {cand.stage.value}", markup=False)
    bt = cand.evidence.backtest
    low, high = cand.evidence.mc_band
    drawdown = "-" if bt.max_drawdown is None else f"{bt.max_drawdown:.1%}"
    out_console.print(
        f"evidence: {bt.trades} trades, Sharpe {_num(bt.sharpe)}, max drawdown {drawdown}, "
        f"Monte Carlo band of the mean trade return {low:+.3%} .. {high:+.3%} over {cand.evidence.mc_window} trades "
        f"({cand.evidence.source or '-'})",
        markup=False,
    )
    for h in data["history"]:
        out_console.print(f"  {h['at']}  {h['from'] or '-'} -> {h['to']}  by {h['by']}: {h['reason']}", markup=False)
    if latest is not None:
        verdict = "criteria met" if latest.met else "; ".join(latest.shortfalls + latest.breaches)
        out_console.print(f"latest evaluation ({latest.stage.value}, {utc_iso(latest.ts)}): {verdict}", markup=False)


@app.command("add")
def add(
    ctx: typer.Context,
    strategy: Annotated[str, typer.Option("--strategy", help="Strategy name, e.g. sma_cross.")],
    symbol: Annotated[str, typer.Option("--symbol")],
    interval: Annotated[str, typer.Option("--interval")],
    evidence: Annotated[
        Path | None,
        typer.Option(
            "--evidence", exists=True, dir_okay=False, help="JSON: backtest, walk_forward, mc_band, mc_window."
        ),
    ] = None,
    params: Annotated[str, typer.Option("--params", help="Strategy parameters as JSON.")] = "{}",
    param: Annotated[list[str] | None, typer.Option("--param", help="name=value (repeatable)")] = None,
    from_backtest: Annotated[
        bool,
        typer.Option(
            "--from-backtest",
            help="Build the evidence here: backtest, walk-forward and Monte Carlo on the stored candles.",
        ),
    ] = False,
    start: Annotated[str | None, typer.Option("--start", help="UTC date/time or ms (with --from-backtest)")] = None,
    end: Annotated[str | None, typer.Option("--end", help="UTC date/time or ms, exclusive")] = None,
    venue: Annotated[str | None, typer.Option("--venue", help="Stored venue of the candles")] = None,
    train: Annotated[str, typer.Option("--train", help="Walk-forward train window, e.g. 30d")] = "30d",
    test: Annotated[str, typer.Option("--test", help="Walk-forward test window, e.g. 7d")] = "7d",
    mc_iterations: Annotated[int, typer.Option("--mc-iterations", help="Monte Carlo bootstrap paths")] = 1000,
    cash: Annotated[float, typer.Option("--cash", help="Starting cash of the backtests")] = 10_000.0,
    fee_bps: Annotated[float, typer.Option("--fee-bps", help="Taker fee in bps")] = 5.5,
    maker_fee_bps: Annotated[float, typer.Option("--maker-fee-bps", help="Maker fee in bps")] = 2.0,
    slippage_bps: Annotated[float, typer.Option("--slippage-bps", help="Slippage in bps")] = 1.0,
    db: Annotated[str | None, typer.Option("--db", help="Store file [default: <home>/candles.db]")] = None,
    allow_gaps: Annotated[bool, typer.Option("--allow-gaps", help="Backtest despite unrepaired gaps")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Queue a candidate with the evidence that produced it: from --evidence JSON, or built here with
    --from-backtest (backtest + walk-forward + Monte Carlo of the strategy on the stored candles)."""
    if (evidence is None) == (not from_backtest):
        fail("error: give exactly one of --evidence FILE or --from-backtest")
    try:
        parsed: dict[str, Any] = json.loads(params)
        for item in param or []:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--param {item}: expected name=value")
            parsed[key.strip()] = value.strip()
        ev = None if evidence is None else Evidence.from_json(json.loads(evidence.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        fail(f"error: invalid --params, --param or --evidence: {exc}")
    summary: dict[str, Any] = {}
    reason = "added to the queue"
    if ev is None:
        built = _backtest_evidence(
            ctx, strategy, parsed, symbol, interval, venue, start, end, train, test, mc_iterations, cash,
            (fee_bps, maker_fee_bps, slippage_bps), db, allow_gaps,
        )  # fmt: skip
        ev, parsed, summary = built.evidence, built.params, built.summary
        reason = f"from a backtest: {ev.source}"
    with _pipeline(ctx) as (_rt, pipeline):
        cand = pipeline.add(
            strategy=strategy, params=parsed, symbol=symbol, interval=interval, evidence=ev, by=_who(), reason=reason
        )
    if as_json:
        out_console.print_json(json.dumps({**_row(cand), "evidence": ev.to_json(), "summary": summary}, default=str))
        return
    out_console.print(f"candidate {cand.id} queued: {cand.strategy_id}", markup=False)
    if summary:
        bt, wf = ev.backtest, ev.walk_forward
        out_console.print(
            f"  backtest: {bt.trades} trades, Sharpe {_num(bt.sharpe)}, max drawdown {_num(bt.max_drawdown)}; "
            f"walk-forward: {summary['walk_forward_windows']} windows, {wf.trades if wf else 0} trades, "
            f"return {_num(wf.total_return if wf else None)}; "
            f"MC band {_num(ev.mc_band[0])}..{_num(ev.mc_band[1])} per trade over {ev.mc_window} trades",
            markup=False,
        )


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.8g}"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _backtest_evidence(
    ctx: typer.Context,
    strategy: str,
    params: dict[str, Any],
    symbol: str,
    interval: str,
    venue: str | None,
    start: str | None,
    end: str | None,
    train: str,
    test: str,
    mc_iterations: int,
    cash: float,
    fees: tuple[float, float, float],
    db: str | None,
    allow_gaps: bool,
) -> Any:
    from workstation.backtest.costs import BYBIT_MAINTENANCE_MARGIN
    from workstation.commands import backtest_common as bc
    from workstation.commands.graduation_evidence import from_backtest
    from workstation.data.intervals import interval_ms
    from workstation.strategies.base import StrategyError

    fee_bps, maker_bps, slip_bps = fees
    try:
        train_ms, test_ms = interval_ms(train), interval_ms(test)
    except ValueError as exc:
        fail(f"error: {exc}")
    mkt = bc.market(ctx, db, symbol, interval, venue, start, end, allow_gaps)
    cost = bc.cost_model(fee_bps, maker_bps, slip_bps, 0.0, 0.0, 1.0, BYBIT_MAINTENANCE_MARGIN, 1.0)
    try:
        return from_backtest(
            mkt, strategy, params, cost, cash=cash, train_ms=train_ms, test_ms=test_ms, mc_iterations=mc_iterations
        )
    except (KeyError, ValueError, StrategyError) as exc:
        fail(f"error: {str(exc).strip(chr(39) + chr(34))}")


VENUE_HELP = (
    "Stored venue of the candles [default: on a live venue, where the live trader stored them: "
    "bybit-testnet for testnet, bybit for mainnet]"
)
OnOpt = Annotated[
    str | None,
    typer.Option("--on", help="Venue whose ledger fills are measured [default: where the candidate's stage trades]"),
]
AllFillsOpt = Annotated[
    bool,
    typer.Option(
        "--all-fills", help="Every fill on the symbol, not only the candidate's tagged orders (untagged runs)."
    ),
]


@app.command("report")
def report(
    ctx: typer.Context,
    candidate_id: Annotated[int, typer.Argument(metavar="ID")],
    start: Annotated[str | None, typer.Option("--start", help="UTC date/time or ms: where the replay began")] = None,
    end: Annotated[str | None, typer.Option("--end", help="UTC date/time or ms, exclusive")] = None,
    venue: Annotated[str | None, typer.Option("--venue", help=VENUE_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", help="Store file [default: <home>/candles.db]")] = None,
    on: OnOpt = None,
    all_fills: AllFillsOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Backtest versus the candidate's own fills (the ledger of its stage's venue: paper, testnet or
    mainnet), trade by trade: expected and actual entries and exits, slippage, fees, funding and P&L,
    over the same candles (--start/--end: the span; default: the span of its fills, backtested when
    the candles are stored; on a live venue the bars the live trader stored, warm-up included)."""
    from workstation.commands.graduation_report import venue_report

    with _pipeline(ctx) as (rt, pipeline):
        cand = pipeline.get(candidate_id)
    trading, mkt = candidate_trading(ctx, cand, MeasureOptions(start, end, venue, db, on, all_fills))
    try:
        data = venue_report(rt.home, cand, trading, mkt, rt.settings.trading.paper_balance)
    except (LookupError, ValueError) as exc:
        fail(f"error: {exc}")
    if as_json:
        out_console.print_json(json.dumps(data, default=str))
        return
    t = data["totals"]
    where = data["venue"]
    if not data["backtest"]:
        out_console.print(
            f"no stored {cand.symbol} {cand.interval} candles for that span: no backtest side", markup=False
        )
    out_console.print(
        f"#{cand.id} {cand.strategy_id}: {t['expected_trades']} trades expected, {t['actual_trades']} made "
        f"({t['matched']} matched, {t['only_backtest']} only in the backtest, {t['only_live']} only on {where})",
        markup=False,
    )
    actual_funding = "not recorded" if t["actual_funding"] is None else f"{t['actual_funding']:.2f}"
    out_console.print(
        f"fees {t['expected_fees']:.2f} expected / {t['actual_fees']:.2f} actual; funding "
        f"{t['expected_funding']:.2f} / {actual_funding}; P&L {t['expected_pnl']:.2f} / {t['actual_pnl']:.2f}; "
        f"mean slippage entry {_num(t['mean_entry_slippage_bps'])} bp, exit {_num(t['mean_exit_slippage_bps'])} bp",
        markup=False,
    )
    if data["backtest"]:
        cost = data["cost"]
        out_console.print(
            f"backtest on {data['market_venue']} {cand.interval}: {data['bars']} bars traded after "
            f"{data['warmup_bars']} warm-up bars; taker fee {cost['taker_fee'] * 1e4:g} bp, "
            f"maker {cost['maker_fee'] * 1e4:g} bp, slippage {cost['slippage_bps']:g} bp",
            markup=False,
        )
    table = Table(
        "entry", "side", "status", "qty exp/act", "entry exp/act", "exit exp/act", "slip bp", "fee bp",
        "funding exp/act", "exit why",
    )  # fmt: skip
    for row in data["trades"]:
        e, a = row["expected"] or {}, row["actual"] or {}
        first = e or a
        table.add_row(
            utc_iso(first["entry_ts"])[:16],
            "long" if first["side"] > 0 else "short",
            row["status"],
            f"{_g(e.get('qty'))}/{_g(a.get('qty'))}",
            f"{_g(e.get('entry_price'))}/{_g(a.get('entry_price'))}",
            f"{_g(e.get('exit_price'))}/{_g(a.get('exit_price'))}",
            f"{_num(row['entry_slippage_bps'])}/{_num(row['exit_slippage_bps'])}",
            f"{_num(row['expected_fee_bps'])}/{_num(row['actual_fee_bps'])}",
            f"{_num(e.get('funding'))}/{_num(a.get('funding'))}",
            f"{e.get('exit_reason', '-')}/{a.get('exit_reason', '-')}",
        )
    out_console.print(table)


@app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    candidate_id: Annotated[int, typer.Argument(metavar="ID")],
    performance: Annotated[
        Path | None, typer.Option("--performance", exists=True, dir_okay=False, help="JSON of the stage's results.")
    ] = None,
    from_paper: Annotated[
        bool, typer.Option("--from-paper", help="Same as --on paper (PAPER is measured from the ledger by default).")
    ] = False,
    start: Annotated[str | None, typer.Option("--start", help="Measured from: UTC date/time or ms")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Measured until: UTC date/time or ms, exclusive")] = None,
    venue: Annotated[str | None, typer.Option("--venue", help=VENUE_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", help="Candle store file (slippage)")] = None,
    on: OnOpt = None,
    all_fills: AllFillsOpt = False,
) -> None:
    """Judge a candidate in its stage (promotes or demotes automatically where the rules allow).

    PAPER and TESTNET (and LIVE) are measured from the ledger: the candidate's own fills on the venue
    its stage trades on (its orders carry its id), unless --performance hands the results in."""
    if performance is not None and (from_paper or on is not None):
        fail("error: give --performance or a venue to measure (--from-paper/--on), not both")
    with _pipeline(ctx) as (_rt, pipeline):
        cand = pipeline.get(candidate_id)
    perf = None
    if performance is not None:
        perf = Performance.from_json(json.loads(performance.read_text(encoding="utf-8")))
    elif cand.stage not in (Stage.CANDIDATE, Stage.RETIRED):
        if from_paper and cand.stage is not Stage.PAPER:
            fail(f"error: candidate {candidate_id} is {cand.stage.value}: --from-paper measures a PAPER candidate")
        opts = MeasureOptions(start, end, venue, db, "paper" if from_paper else on, all_fills)
        perf = measured(ctx, cand, opts)
    with _pipeline(ctx) as (_rt, pipeline):
        result = pipeline.evaluate(candidate_id, perf)
        stage = pipeline.get(candidate_id).stage
    verdict = "criteria met" if result.met else "; ".join(result.shortfalls + result.breaches)
    out_console.print(f"candidate {candidate_id} ({result.stage.value} -> {stage.value}): {verdict}", markup=False)


def mainnet_doctor(rt: Runtime, *, confirm_mainnet: bool) -> DoctorVerdict:
    """The preflight as `workstation doctor` runs it, for the mainnet venue LIVE trades on."""
    from workstation.secrets.backends import describe_backend
    from workstation.secrets.keystore import KeyStore

    s = rt.settings
    settings = s.model_copy(update={"trading": s.trading.model_copy(update={"venue": Venue.BYBIT_MAINNET})})
    keystore = KeyStore()

    def key_presence(venue: Venue) -> KeyPresence:
        try:
            found = [k for k in keystore.list() if k.venue is venue]
        except SecretsError as exc:
            return KeyPresence(False, error=str(exc))
        return KeyPresence(bool(found), source=found[0].source if found else "")

    def secrets_backend(probe: bool) -> SecretsBackendState:
        described = describe_backend(probe=probe)
        return SecretsBackendState(described.name, described.usable, described.problem)

    results = run_preflight(
        PreflightContext(
            settings=settings,
            home=rt.home,
            confirm_mainnet=confirm_mainnet,
            key_presence=key_presence,
            secrets_backend=secrets_backend,
            probe=probe_for(Venue.BYBIT_MAINNET, settings, keystore),
            kill_switch_description=rt.kill_switch.describe(),
        )
    )
    failures = tuple(f"{r.name}: {r.reason}" for r in results if r.status is Status.FAIL)
    return DoctorVerdict(ok=not failures, failures=failures)


@app.command("approve")
def approve(
    ctx: typer.Context,
    candidate_id: Annotated[int, typer.Argument(metavar="ID")],
    confirm_mainnet: Annotated[
        bool, typer.Option("--confirm-mainnet", help="Confirm that LIVE means real money on mainnet.")
    ] = False,
) -> None:
    """Approve a TESTNET candidate for LIVE (real money). Refused in debug mode, while doctor fails,
    or without --confirm-mainnet."""
    with _pipeline(ctx) as (rt, pipeline):
        doctor = mainnet_doctor(rt, confirm_mainnet=confirm_mainnet)
        try:
            cand = pipeline.approve(
                candidate_id,
                by=_who(),
                debug_mode=rt.debug_switch.enabled,
                doctor=doctor,
                mainnet_confirmed=confirm_mainnet,
            )
        except ApprovalRefused as exc:
            out_console.print(f"LIVE approval of candidate {candidate_id} REFUSED:", markup=False, style="bold red")
            for reason in exc.reasons:
                out_console.print(f"  - {reason}", markup=False)
            raise typer.Exit(EXIT_FAILED) from None
    out_console.print(f"candidate {cand.id} {cand.strategy_id} is LIVE", markup=False)


@app.command("demote")
def demote(
    ctx: typer.Context,
    candidate_id: Annotated[int, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the history).")],
) -> None:
    """Move a candidate one stage down."""
    with _pipeline(ctx) as (_rt, pipeline):
        cand = pipeline.demote(candidate_id, reason, by=_who())
    out_console.print(f"candidate {cand.id} is now {cand.stage.value}", markup=False)


@app.command("retire")
def retire(
    ctx: typer.Context,
    candidate_id: Annotated[int, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the history).")],
) -> None:
    """Retire a candidate for good (it stops trading anywhere)."""
    with _pipeline(ctx) as (_rt, pipeline):
        cand = pipeline.retire(candidate_id, reason, by=_who())
    out_console.print(f"candidate {cand.id} is {cand.stage.value}", markup=False)

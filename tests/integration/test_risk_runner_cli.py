"""`workstation trade --env paper` with the risk manager on (the default) on the shipped sample, as a
real process: a tiny daily loss limit halts new entries, each denial is printed with its numbers,
and the paper account's trading state is persisted beside its journal, <home>/state/paper/risk.json; `--no-risk` sizes like a backtest."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.integration.cli_runner import run_cli

RANGE = "2024-11-01:2024-11-03"  # two UTC days of the shipped BTCUSDT 1m sample
TRADE = ("trade", "--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20", "--symbol", "BTCUSDT",
         "--interval", "1m", "--env", "paper", "--replay", RANGE)  # fmt: skip
TINY = ("--set", "debug_mode=false", "--set", "risk.daily_loss_limit=0.0005",
        "--set", "risk.size_taper_start=1", "--set", "risk.reducing_at=1")  # fmt: skip
DONE = re.compile(r"DONE (\d+) new candle\(s\); (\d+) order\(s\) sent.*risk: (\d+) decision\(s\), (\d+) denied")


def test_trade_when_daily_loss_limit_is_tiny_then_entries_are_denied_with_numbers_and_state_persisted(
    tmp_path: Path,
) -> None:
    result = run_cli(*TINY, *TRADE, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "RISK ACTIVE" in out
    done = DONE.search(out)
    assert done is not None, out[-2000:]
    bars, sent, decisions, denied = map(int, done.groups())
    assert bars == 2880 and denied > 0 and sent == decisions - denied  # a denial sends nothing
    risk_lines = [line for line in out.splitlines() if line.startswith("RISK DENIED")]
    assert len(risk_lines) == denied
    for line in risk_lines:
        assert "[HALTED]" in line and "daily loss limit" in line
        assert re.search(r"equity \d+\.\d+ is \d+\.\d+% below today's start \d+\.\d+ \(limit 0\.05%\)", line)
        assert re.search(r"until 2024-11-0[23]T00:00:00", line)  # lifts at the replay's next UTC day
    # both UTC days traded until their first loss: the halt of day one lifted at midnight
    assert {m for m in re.findall(r"until (2024-11-0\d)", out)} == {"2024-11-02", "2024-11-03"}
    book = json.loads((tmp_path / "state" / "paper" / "risk.json").read_text())["risk"]
    assert not (tmp_path / "state" / "risk.json").exists()  # the live trading state is not the replay's
    assert book["day"] == "2024-11-02" and float(book["last_equity"]) < 10_000


def test_trade_when_no_risk_then_sized_by_the_backtest_sizer_without_risk_decisions(tmp_path: Path) -> None:
    result = run_cli(*TINY, *TRADE, "--no-risk", home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "risk manager OFF" in result.stdout and "RISK " not in result.stdout
    assert not (tmp_path / "state" / "risk.json").exists()
    assert not (tmp_path / "state" / "paper" / "risk.json").exists()


def test_trade_when_paper_candidate_falls_below_its_band_then_the_demotion_is_recorded(tmp_path: Path) -> None:
    from workstation.bus import EventBus
    from workstation.core.clock import SystemClock
    from workstation.graduation.models import Evidence, Performance, Stage
    from workstation.graduation.pipeline import GraduationPipeline
    from workstation.graduation.store import GraduationStore, store_path
    from workstation.settings.models import GraduationSettings

    store = GraduationStore.open(store_path(tmp_path))
    try:
        pipeline = GraduationPipeline(store, GraduationSettings(), bus=EventBus(), clock=SystemClock())
        backtest = Performance(100, sharpe=2.0, max_drawdown=0.05, win_rate=0.6, profit_factor=2.0,
                               mean_trade_return=0.01, total_return=0.5)  # fmt: skip
        cand = pipeline.add(strategy="sma_cross", params={"fast": 5, "slow": 20}, symbol="BTCUSDT", interval="1m",
                            evidence=Evidence(backtest, (0.01, 0.05), 2), by="test")  # fmt: skip
        pipeline.evaluate(cand.id)
        assert pipeline.get(cand.id).stage is Stage.PAPER
    finally:
        store.close()
    monitor = ("--set", "risk.monitor.window_trades=2", "--set", "risk.monitor.demote_after_breaches=1")
    trade = (*TRADE[:-1], "2024-11-01:2024-11-02")
    result = run_cli("--set", "debug_mode=false", *monitor, *trade, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"CANDIDATE {cand.strategy_id} in PAPER" in result.stdout
    assert f"DEMOTION requested for {cand.strategy_id}" in result.stdout
    shown = run_cli("graduation", "show", str(cand.id), home=tmp_path)
    assert "PAPER -> CANDIDATE  by monitor: performance monitor: mean return over the last 2 trades" in shown.stdout
    assert "below the backtest's Monte Carlo band low 1.00%" in shown.stdout

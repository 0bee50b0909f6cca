"""`workstation trade --env paper` with the risk manager on (the default) on the shipped sample, as a
real process: a tiny daily loss limit halts new entries, each denial is printed with its numbers,
and the trading state is persisted in <home>/state/risk.json; `--no-risk` sizes like a backtest."""

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
    book = json.loads((tmp_path / "state" / "risk.json").read_text())["risk"]
    assert book["day"] == "2024-11-02" and float(book["last_equity"]) < 10_000


def test_trade_when_no_risk_then_sized_by_the_backtest_sizer_without_risk_decisions(tmp_path: Path) -> None:
    result = run_cli(*TINY, *TRADE, "--no-risk", home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "risk manager OFF" in result.stdout and "RISK " not in result.stdout
    assert not (tmp_path / "state" / "risk.json").exists()

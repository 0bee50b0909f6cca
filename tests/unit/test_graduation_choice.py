"""Which graduation candidate a trader trades as when two of its venue's stage trade the same
strategy, symbol and interval: none is guessed; `candidate_id` (`trade --candidate ID`) picks one."""

from __future__ import annotations

from pathlib import Path

import pytest

from workstation.backtest.costs import CostModel
from workstation.core.clock import SystemClock
from workstation.core.enums import Venue
from workstation.graduation.models import Evidence, Performance, Stage
from workstation.graduation.pipeline import GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.graduation.tagging import CandidateChoiceError, trading_candidate
from workstation.paper.risk_path import build_risk_path
from workstation.runtime import build_runtime
from workstation.strategies.builtin import build

LOOSE = ("graduation.candidate.min_trades=0", "graduation.candidate.min_sharpe=null",
         "graduation.candidate.min_profit_factor=null", "graduation.candidate.max_drawdown=null")  # fmt: skip
SMA = {"fast": 2, "slow": 3}
LABEL = build("sma_cross", SMA).label()


def queue(home: Path) -> None:
    """Candidates 1 and 2 (sma_cross 2/3 BTCUSDT 1h) and 3 (other params) in PAPER; 4 (2/3) still CANDIDATE."""
    rt = build_runtime(home=home, config_file=None, overrides=LOOSE)
    store = GraduationStore.open(store_path(home))
    try:
        pipeline = GraduationPipeline(store, rt.settings.graduation, bus=rt.bus, clock=SystemClock())
        evidence = Evidence(Performance(200, sharpe=2.0, max_drawdown=0.1), mc_band=(-0.05, 0.05), mc_window=5)
        for params, promote in ((SMA, True), (SMA, True), ({"fast": 3, "slow": 5}, True), (SMA, False)):
            cand = pipeline.add(
                strategy="sma_cross", params=params, symbol="BTCUSDT", interval="1h", evidence=evidence, by="test"
            )
            if promote:
                pipeline.evaluate(cand.id)
                assert pipeline.get(cand.id).stage is Stage.PAPER
    finally:
        store.close()


def test_trading_candidate_when_two_of_the_stage_match_then_it_refuses_and_lists_their_ids(tmp_path: Path) -> None:
    queue(tmp_path)
    with pytest.raises(CandidateChoiceError) as refused:
        trading_candidate(tmp_path, Venue.PAPER, "BTCUSDT", "1h", LABEL)
    message = str(refused.value)
    assert "2 PAPER candidates trade" in message and "(1, 2)" in message and "--candidate ID" in message


def test_trading_candidate_when_an_id_picks_one_of_them_then_it_is_that_one(tmp_path: Path) -> None:
    queue(tmp_path)
    assert trading_candidate(tmp_path, Venue.PAPER, "BTCUSDT", "1h", LABEL, 2).id == 2  # type: ignore[union-attr]
    assert trading_candidate(tmp_path, Venue.PAPER, "BTCUSDT", "1h", LABEL, 1).id == 1  # type: ignore[union-attr]


def test_trading_candidate_when_the_id_does_not_match_then_it_refuses_and_names_those_that_do(tmp_path: Path) -> None:
    queue(tmp_path)
    for wrong in (3, 4, 99):  # other params; not in the stage; unknown
        with pytest.raises(CandidateChoiceError, match=rf"candidate {wrong} is not one of .*those are 1, 2"):
            trading_candidate(tmp_path, Venue.PAPER, "BTCUSDT", "1h", LABEL, wrong)
    with pytest.raises(CandidateChoiceError, match="there are none"):
        trading_candidate(tmp_path, Venue.BYBIT_TESTNET, "BTCUSDT", "1h", LABEL, 1)


def test_trading_candidate_when_one_or_none_matches_then_no_id_is_needed(tmp_path: Path) -> None:
    queue(tmp_path)
    other = build("sma_cross", {"fast": 3, "slow": 5}).label()
    assert trading_candidate(tmp_path, Venue.PAPER, "BTCUSDT", "1h", other).id == 3  # type: ignore[union-attr]
    assert trading_candidate(tmp_path, Venue.BYBIT_TESTNET, "BTCUSDT", "1h", LABEL) is None
    assert trading_candidate(tmp_path / "empty", Venue.PAPER, "BTCUSDT", "1h", LABEL) is None


def test_build_risk_path_when_two_candidates_match_then_it_refuses_unless_one_is_picked(tmp_path: Path) -> None:
    queue(tmp_path)
    rt = build_runtime(home=tmp_path, config_file=None, overrides=("trading.venue=paper",))
    with pytest.raises(CandidateChoiceError, match="--candidate ID"):
        build_risk_path(rt, "BTCUSDT", "1h", LABEL, CostModel())
    path = build_risk_path(rt, "BTCUSDT", "1h", LABEL, CostModel(), candidate_id=2)
    assert path.candidate_id == 2 and path.order_prefix("pp") == "ppg2" and path.strategy_id.endswith("#2")

"""ReplaySpec.parse: SYMBOL:INTERVAL[:STRATEGY[:NAME=VALUE,...]] builds the strategy it names with
those parameters, or says which parameter is wrong and what was expected."""

from __future__ import annotations

import pytest

from workstation.paper.session import ReplaySpec
from workstation.strategies.builtin import build


def test_parse_when_params_given_then_strategy_is_built_with_them() -> None:
    spec = ReplaySpec.parse("ethusdt:1h:ml_classifier:features=2, peer=1,threshold=0.52")
    assert (spec.symbol, spec.interval, spec.strategy) == ("ETHUSDT", "1h", "ml_classifier")
    assert spec.params == (("features", 2), ("peer", 1), ("threshold", 0.52))
    assert spec.build() == build("ml_classifier", {"features": 2, "peer": 1, "threshold": 0.52})
    assert [i.kind for i in spec.build().inputs()] == ["funding", "peer"]
    assert str(spec) == "ETHUSDT:1h:ml_classifier:features=2,peer=1,threshold=0.52"
    assert ReplaySpec.parse(str(spec)) == spec


def test_parse_when_no_params_then_defaults_as_before() -> None:
    assert ReplaySpec.parse("BTCUSDT:1m") == ReplaySpec("BTCUSDT", "1m", "sma_cross")
    assert ReplaySpec.parse("BTCUSDT:1m:donchian").build() == build("donchian")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("BTCUSDT:1m:nope", "unknown strategy 'nope'; known: bollinger_reversion"),
        ("BTCUSDT:1m:nope:fast=5", "unknown strategy 'nope'"),
        ("BTCUSDT:1m:sma_cross:speed=5", "sma_cross has no parameter 'speed' (it has fast, slow, short)"),
        ("BTCUSDT:1m:sma_cross:fast=abc", "sma_cross parameter fast='abc': expected an integer in 2..200"),
        ("BTCUSDT:1m:sma_cross:fast=5.5", "sma_cross parameter fast='5.5': expected an integer in 2..200"),
        ("BTCUSDT:1m:sma_cross:fast=1", "sma_cross parameter fast='1': expected an integer in 2..200"),
        ("BTCUSDT:1m:ml_classifier:threshold=0.9", "threshold='0.9': expected a number in 0.5..0.8"),
        ("BTCUSDT:1m:sma_cross:fast=30,slow=10", "fast (30) must be shorter than slow (10)"),
        ("BTCUSDT:1m:sma_cross:fast=5,fast=6", "sma_cross parameter 'fast' is given twice"),
        ("BTCUSDT:1m:sma_cross:fast", "sma_cross parameter 'fast' is not NAME=VALUE"),
        ("BTCUSDT:1m:sma_cross:", "--replay wants SYMBOL:INTERVAL[:STRATEGY[:NAME=VALUE,NAME=VALUE...]]"),
        ("BTCUSDT", "--replay wants SYMBOL:INTERVAL"),
    ],
)
def test_parse_when_spec_is_bad_then_value_error_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        ReplaySpec.parse(text)
    assert message in str(info.value)

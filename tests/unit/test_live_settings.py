"""trading.live.peer_wait_s: how long the live trader waits for a peer's bar on the public stream
before fetching it over REST. Shipped in config/default.yaml, overridable, validated with the
settings' precise error lines (file, key, what was expected, what was found)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workstation.core.errors import ConfigError
from workstation.settings.loader import ConfigSources, LoadedSettings, load_settings


def load(config_dir: Path, *overrides: str, user_file: Path | None = None) -> LoadedSettings:
    return load_settings(ConfigSources(config_dir=config_dir, user_file=user_file, overrides=overrides))


def problems(config_dir: Path, *overrides: str, user_file: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(config_dir, *overrides, user_file=user_file)
    return info.value.problems


def test_load_when_shipped_config_then_peer_wait_is_documented_in_default_yaml_at_five_seconds(
    config_dir: Path,
) -> None:
    assert load(config_dir).settings.trading.live.peer_wait_s == 5.0
    (config_dir / "default.yaml").write_text(
        (config_dir / "default.yaml").read_text().replace("peer_wait_s: 5 ", "peer_wait_s: 7 ")
    )
    assert load(config_dir).settings.trading.live.peer_wait_s == 7.0  # the value comes from the file


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("0.5", 0.5), ("2s", 2.0), ("1m", 60.0)])
def test_load_when_peer_wait_set_then_seconds_are_taken_as_given(config_dir: Path, value: str, seconds: float) -> None:
    assert load(config_dir, f"trading.live.peer_wait_s={value}").settings.trading.live.peer_wait_s == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-1", "expected a value greater than or equal to 0, got -1"),
        ("61", "expected a value less than or equal to 60, got 61"),
        ("soon", 'expected a duration such as 3600, "90s", "30m" or "1h"'),
    ],
)
def test_load_when_peer_wait_is_bad_then_the_error_names_the_file_key_and_expected(
    config_dir: Path, tmp_path: Path, text: str, expected: str
) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text(f"trading:\n  live:\n    peer_wait_s: {text}\n")
    [line] = problems(config_dir, user_file=user)
    assert line.startswith(f"{user}: trading.live.peer_wait_s: {expected}"), line


def test_load_when_live_key_misspelt_then_the_error_suggests_peer_wait_s(config_dir: Path) -> None:
    [line] = problems(config_dir, "trading.live.peer_wait=3")
    assert "trading.live.peer_wait: unknown key (did you mean 'peer_wait_s'?)" in line, line

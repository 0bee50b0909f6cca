"""Settings: layering, overrides and precise error messages for malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from workstation.core.enums import Venue
from workstation.core.errors import ConfigError
from workstation.settings.loader import ConfigSources, load_settings


def load(config_dir: Path, *overrides: str, user_file: Path | None = None, user_dir: Path | None = None):
    return load_settings(
        ConfigSources(config_dir=config_dir, user_config_dir=user_dir, user_file=user_file, overrides=overrides)
    )


def problems(config_dir: Path, *overrides: str, **kw) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(config_dir, *overrides, **kw)
    return info.value.problems


def test_load_when_shipped_config_then_debug_mode_on_and_private_use_limits(config_dir: Path) -> None:
    loaded = load(config_dir)
    s = loaded.settings
    assert s.debug_mode is True
    assert s.risk.max_risk_per_trade == 0.005
    assert s.risk.daily_loss_limit == 0.03
    assert s.risk.max_drawdown == 0.15
    assert s.trading.allowed_venues == (Venue.PAPER, Venue.BYBIT_TESTNET)
    assert s.safety.debug_session_max == 3600
    assert [Path(f).name for f in loaded.files] == [
        "default.yaml",
        "private_use.yaml",
        "development.yaml",
        "debug.yaml",
    ]


def test_load_when_debug_yaml_says_yes_please_then_error_names_file_key_expected_and_found(config_dir: Path) -> None:
    (config_dir / "debug.yaml").write_text("debug_mode: yes please\n")
    [line] = problems(config_dir)
    assert line.endswith('debug.yaml: debug_mode: expected true/false, got "yes please"')


def test_load_when_unknown_key_then_error_suggests_the_close_match(config_dir: Path, tmp_path: Path) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text("risk:\n  max_risk_per_trad: 0.01\n")
    [line] = problems(config_dir, user_file=user)
    assert line.startswith(f"{user}: risk.max_risk_per_trad: unknown key (did you mean 'max_risk_per_trade'?)")


def test_load_when_number_out_of_range_then_error_says_the_bound_and_value(config_dir: Path, tmp_path: Path) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text("risk:\n  max_drawdown: 1.5\n")
    [line] = problems(config_dir, user_file=user)
    assert line == f"{user}: risk.max_drawdown: expected a value less than or equal to 1, got 1.5"


def test_load_when_several_problems_then_every_one_is_reported(config_dir: Path, tmp_path: Path) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text("risk:\n  max_leverage: lots\nlogging:\n  level: LOUD\n")
    lines = problems(config_dir, user_file=user)
    assert len(lines) == 2
    assert any('risk.max_leverage: expected a number, got "lots"' in line for line in lines)
    assert any(
        "logging.level: expected one of 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'" in line for line in lines
    )


def test_load_when_yaml_is_broken_then_error_gives_line_and_column(config_dir: Path, tmp_path: Path) -> None:
    user = tmp_path / "broken.yaml"
    user.write_text("risk:\n  max_leverage: [1, 2\nlogging: {}\n")
    [line] = problems(config_dir, user_file=user)
    assert line.startswith(f"{user}: line ")
    assert "invalid YAML" in line


def test_load_when_key_is_duplicated_then_error_names_the_key(config_dir: Path, tmp_path: Path) -> None:
    user = tmp_path / "dup.yaml"
    user.write_text("risk:\n  max_leverage: 2\n  max_leverage: 5\n")
    [line] = problems(config_dir, user_file=user)
    assert "duplicate key 'max_leverage'" in line and line.startswith(str(user))


def test_load_when_top_level_is_a_list_then_error_says_a_mapping_was_expected(config_dir: Path, tmp_path: Path) -> None:
    user = tmp_path / "list.yaml"
    user.write_text("- a\n- b\n")
    assert problems(config_dir, user_file=user) == [f"{user}: expected a mapping of keys at the top level, got list"]


def test_load_when_debug_mode_outside_debug_yaml_then_refused(config_dir: Path, tmp_path: Path) -> None:
    user = tmp_path / "sneaky.yaml"
    user.write_text("debug_mode: false\n")
    [line] = problems(config_dir, user_file=user)
    assert "debug_mode: the master switch lives only in debug.yaml" in line


def test_load_when_venue_not_allowed_by_profile_then_error_points_at_the_layer_that_chose_it(config_dir: Path) -> None:
    [line] = problems(config_dir, "trading.venue=bybit-mainnet")
    assert line.startswith("--set trading.venue: trading:")
    assert "'bybit-mainnet' is not in trading.allowed_venues (paper, bybit-testnet)" in line


def test_load_when_set_overrides_then_values_change_for_this_run(config_dir: Path) -> None:
    s = load(
        config_dir, "debug_mode=false", "exchanges.bybit.base_url=http://127.0.0.1:8999", "safety.debug_session_max=90s"
    ).settings
    assert s.debug_mode is False
    assert str(s.exchanges.bybit.base_url) == "http://127.0.0.1:8999/"
    assert s.safety.debug_session_max == 90


def test_load_when_set_has_no_equals_then_error_shows_the_expected_form(config_dir: Path) -> None:
    assert problems(config_dir, "debug_mode") == [
        "--set debug_mode: expected dotted.key=value, for example --set debug_mode=false"
    ]


def test_load_when_home_config_shadows_a_shipped_file_then_home_wins(config_dir: Path, tmp_path: Path) -> None:
    user_dir = tmp_path / "home-config"
    user_dir.mkdir()
    (user_dir / "debug.yaml").write_text("debug_mode: false\n")
    assert load(config_dir, user_dir=user_dir).settings.debug_mode is False


def test_load_when_environment_is_production_then_its_overlay_applies(config_dir: Path) -> None:
    s = load(config_dir, "environment=production").settings
    assert s.safety.debug_session_max == 1800
    assert s.logging.level == "INFO"


def test_load_when_profile_file_missing_then_error_names_the_missing_file(config_dir: Path) -> None:
    [line] = problems(config_dir, "profile=company")
    assert line.startswith("--set profile: profile: no such file") and "company.yaml" in line


def test_settings_when_loaded_then_they_are_frozen(config_dir: Path) -> None:
    s = load(config_dir).settings
    with pytest.raises(Exception, match="frozen"):
        s.debug_mode = False  # type: ignore[misc]

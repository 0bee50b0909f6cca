"""Backtest lab, settings dialog and graduation queue panel."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from PySide6.QtWidgets import QDoubleSpinBox, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from tests.fixtures.memory_keyring import InMemoryKeyring
from tests.integration.cli_runner import run_cli
from workstation.api.graduation_view import graduation_snapshot
from workstation.core.clock import SystemClock
from workstation.core.enums import Venue
from workstation.graduation.models import Evidence, Performance, Stage
from workstation.graduation.pipeline import GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.runtime import Runtime, build_runtime
from workstation.secrets.keystore import KeyStore
from workstation.secrets.model import SERVICE_NAME
from workstation.strategies.builtin import SmaCross
from workstation.ui.local_engine import LocalEngine
from workstation.ui.panels.backtest_lab import BacktestLab
from workstation.ui.panels.graduation import GraduationPanel
from workstation.ui.settings_dialog import INVALID, SettingsDialog


def runtime(home: Path) -> Runtime:
    return build_runtime(home=home, config_file=None, overrides=())


def test_backtest_lab_when_run_on_the_bundled_sample_then_metrics_equity_and_chart_markers_show(
    qtbot: QtBot, qloop, chart_panel
) -> None:
    lab = BacktestLab(chart_panel.worker)
    qtbot.addWidget(lab)
    lab.show()
    with qtbot.waitSignal(lab.series_box.currentIndexChanged, timeout=10_000):
        lab.load_catalog()
    assert lab.series_box.currentText() == "BTCUSDT · binance"
    lab.strategy_box.setCurrentText("sma_cross")
    specs = {s.name: s for s in SmaCross.params()}
    for name, box in lab.param_boxes.items():  # generated from the declared specs
        spec = specs[name]
        assert isinstance(box, QSpinBox if spec.type is int else QDoubleSpinBox)
        assert (box.minimum(), box.maximum(), box.value()) == (spec.low, spec.high, spec.default)
    lab.interval_box.setCurrentText("1h")
    chart_panel.interval_box.setCurrentText("1h")
    with qtbot.waitSignal(lab.finished, timeout=60_000) as done:
        lab.run()
        assert not lab.run_button.isEnabled() and lab.progress.maximum() == 0  # busy while it runs
    result = done.args[0]
    assert lab.progress.format() == "done" and lab.run_button.isEnabled()
    assert result.metrics["bars"] == 1464 and result.metrics["trade_count"] > 0
    assert lab.metric_text("Trades") == str(result.metrics["trade_count"])
    assert lab.metric_text("Total return").endswith("%")
    xs, ys = lab.equity_curve.getData()
    assert len(xs) == 1464 and ys[0] == pytest.approx(10_000)
    chart_panel.show_trades(result.markers)
    assert len(chart_panel.trade_markers.data) == len(result.markers) >= result.metrics["trade_count"]
    lab.shutdown()


def test_backtest_lab_when_no_event_loop_then_it_says_so_instead_of_freezing(qtbot: QtBot, chart_panel) -> None:
    lab = BacktestLab(chart_panel.worker)
    qtbot.addWidget(lab)
    with qtbot.waitSignal(lab.series_box.currentIndexChanged, timeout=10_000):
        lab.load_catalog()
    with qtbot.waitSignal(lab.failed) as failed:
        lab.run()
    assert "loop is not running" in failed.args[0]


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = InMemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_settings_when_key_saved_then_it_is_in_the_keyring_masked_and_never_in_a_file(
    qtbot: QtBot, isolated_home: Path, memory_keyring: InMemoryKeyring
) -> None:
    dialog = SettingsDialog(runtime(isolated_home))
    qtbot.addWidget(dialog)
    dialog.venue_box.setCurrentText("bybit-testnet")
    assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.secret_edit.echoMode() == QLineEdit.EchoMode.Password
    dialog.key_edit.setText("Ab12Cd34Ef56Gh78Ij")
    dialog.secret_edit.setText("Zy98Xw76Vu54Ts32Rq10Po98")
    dialog.save_key()
    assert "Stored the API key for bybit-testnet" in dialog.key_status.text()
    assert dialog.key_edit.text() == "" and dialog.secret_edit.text() == ""
    stored = json.loads(memory_keyring.entries[(SERVICE_NAME, "bybit-testnet")])
    assert stored == {"api_key": "Ab12Cd34Ef56Gh78Ij", "api_secret": "Zy98Xw76Vu54Ts32Rq10Po98"}
    assert KeyStore().get(Venue.BYBIT_TESTNET).api_key == "Ab12Cd34Ef56Gh78Ij"
    assert "bybit-testnet (keyring)" in dialog.stored_label.text()
    for path in isolated_home.rglob("*"):
        if path.is_file():
            assert b"Zy98Xw76Vu54Ts32Rq10Po98" not in path.read_bytes(), path


def test_settings_when_config_yaml_invalid_then_refused_with_the_clis_message_and_file_untouched(
    qtbot: QtBot, isolated_home: Path, tmp_path: Path
) -> None:
    bad_yaml = "risk:\n  max_drawdown: [0.1\n"
    bad_value = "risk:\n  max_drawdown: 7\n"
    dialog = SettingsDialog(runtime(isolated_home))
    qtbot.addWidget(dialog)
    target = isolated_home / "config" / "environments" / "development.yaml"
    for text in (bad_yaml, bad_value):
        dialog.config_edit.setPlainText(text)
        assert dialog.save_config() is False
        assert not target.exists()
        # the CLI reading the same layer from the same place
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        cli = run_cli("config", "show", home=isolated_home)
        target.unlink()
        assert cli.returncode != 0
        assert dialog.config_status.text().splitlines() == cli.stderr.strip().splitlines()
        assert dialog.config_status.text().endswith(INVALID)
    dialog.config_edit.setPlainText("risk:\n  max_drawdown: 0.1\n")
    assert dialog.save_config() is True
    assert runtime(isolated_home).settings.risk.max_drawdown == 0.1


def queue_testnet_candidate(rt: Runtime) -> int:
    store = GraduationStore.open(store_path(rt.home))
    pipeline = GraduationPipeline(store, rt.settings.graduation, bus=rt.bus, clock=SystemClock())
    perf = Performance(trades=150, sharpe=1.6, max_drawdown=0.1, win_rate=0.55, profit_factor=1.5)
    cand = pipeline.add(
        strategy="sma_cross",
        params={"fast": 10, "slow": 40},
        symbol="BTCUSDT",
        interval="1h",
        evidence=Evidence(backtest=perf, mc_band=(-0.01, 0.02), mc_window=20, source="lab run"),
        by="test",
    )
    pipeline.evaluate(cand.id)  # CANDIDATE -> PAPER on its backtest
    store.insert_transition(cand.id, SystemClock().now_ms(), Stage.PAPER, Stage.TESTNET, "paper criteria met", "t", {})
    store.close()
    return cand.id


def test_graduation_panel_when_debug_mode_on_then_live_approval_disabled_and_refused(
    qtbot: QtBot, qloop, isolated_home: Path
) -> None:
    rt = runtime(isolated_home)
    assert rt.debug_switch.enabled
    cid = queue_testnet_candidate(rt)
    panel = GraduationPanel(LocalEngine(rt))
    qtbot.addWidget(panel)
    panel.show()
    panel.set_debug_mode(True)
    panel.show_queue(graduation_snapshot(rt))
    assert panel.selected_id() == cid
    assert "TESTNET → LIVE" in panel.title.text()
    assert "lab run" in panel.details.toPlainText() and "PAPER → TESTNET" in panel.details.toPlainText()
    assert panel.criteria_box.count() > 0  # criteria with progress bars
    assert not panel.approve_button.isEnabled() and "debug mode is on" in panel.approve_reason.text()

    panel.approve()  # even when asked directly, the pipeline refuses
    panel.pending.typed.setText("LIVE")
    with qtbot.waitSignal(panel.outcome, timeout=10_000) as outcome:
        panel.pending.ok_button.click()
    text, ok = outcome.args
    assert not ok and "refused" in text and "debug mode is on" in text
    assert graduation_snapshot(rt)["candidates"][0]["stage"] == "TESTNET"


def test_remote_token_when_stored_then_gui_reads_it_back_from_the_keyring_by_url(memory_keyring) -> None:
    from workstation.commands.keys import REMOTE_TOKEN_SERVICE, remote_token, store_remote_token

    store_remote_token("https://droplet.example:8443/", "tok-0123456789abcdef")
    assert memory_keyring.entries == {(REMOTE_TOKEN_SERVICE, "https://droplet.example:8443"): "tok-0123456789abcdef"}
    assert remote_token("https://droplet.example:8443") == "tok-0123456789abcdef"
    assert remote_token("https://other.example") is None

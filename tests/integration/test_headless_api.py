"""The headless engine's API, served by a real `workstation headless` process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.integration.headless_process import Headless, headless_engine

READ_ENDPOINTS = [
    "/api/system-stats",
    "/api/positions",
    "/api/multi-balance",
    "/api/trades/paper",
    "/api/trades/testnet",
    "/api/orders",
    "/api/risk",
    "/api/graduation",
]
ADMIN_ENDPOINTS = ["/api/admin/close-positions", "/api/admin/cancel-orders"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Headless]:
    home = tmp_path_factory.mktemp("headless-home")
    with headless_engine(home) as running:
        yield running


def test_health_when_called_without_token_then_status_version_uptime_debug_mode(engine: Headless) -> None:
    body = engine.get("/health").json()
    assert body["status"] == "ok" and body["debug_mode"] is True and body["venue"] == "paper"
    assert body["uptime_s"] > 0 and body["version"]


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_read_endpoint_when_no_or_wrong_token_then_401_and_right_token_then_200(engine: Headless, path: str) -> None:
    assert engine.get(path).status_code == 401
    assert engine.get(path, "not-the-token").status_code == 401
    ok = engine.get(path, engine.tokens.read)
    assert ok.status_code == 200, ok.text
    assert engine.get(path, engine.tokens.admin).status_code == 200


@pytest.mark.parametrize("path", ADMIN_ENDPOINTS)
def test_admin_endpoint_when_read_token_then_403_and_admin_token_then_200(engine: Headless, path: str) -> None:
    assert engine.post(path).status_code == 401
    assert engine.post(path, engine.tokens.read).status_code == 403
    done = engine.post(path, engine.tokens.admin)
    assert done.status_code == 200 and done.json()["ok"] is True


def test_reads_when_no_venue_connected_then_lists_are_empty_not_invented(engine: Headless) -> None:
    assert engine.get("/api/positions", engine.tokens.read).json() == []
    assert engine.get("/api/orders", engine.tokens.read).json() == []
    [balances] = engine.get("/api/multi-balance", engine.tokens.read).json()
    assert balances == {"venue": "paper", "connected": False, "balances": []}


def test_request_body_when_invalid_then_clear_422_naming_the_field(engine: Headless) -> None:
    bad = engine.post("/api/bot/emergency-stop", engine.tokens.read, json={"reason": "x", "extra": 1})
    assert bad.status_code == 422
    fields = {tuple(e["loc"]) for e in bad.json()["detail"]}
    assert ("body", "reason") in fields and ("body", "extra") in fields


def test_openapi_schema_when_fetched_then_lists_every_endpoint(engine: Headless) -> None:
    paths = engine.get("/openapi.json").json()["paths"]
    for path in ["/health", "/api/bot/pause", "/api/bot/resume", "/api/bot/emergency-stop", "/api/admin/wipe-data"]:
        assert path in paths


def test_events_when_bot_paused_and_stopped_then_websocket_streams_the_state_change(engine: Headless) -> None:
    ws_url = engine.url.replace("http", "ws") + "/api/events"
    with pytest.raises(InvalidStatus):
        connect(ws_url, open_timeout=5).close()
    with connect(ws_url, additional_headers=engine.headers(engine.tokens.read), open_timeout=5) as ws:
        stop = engine.post("/api/bot/emergency-stop", engine.tokens.read, json={"reason": "api test stop"})
        assert stop.status_code == 200 and "kill switch engaged" in stop.json()["detail"]
        event = json.loads(ws.recv(timeout=10))
    assert event["type"] == "TradingStateChanged" and event["state"] == "HALTED"
    assert "api test stop" in event["reason"]
    risk = engine.get("/api/risk", engine.tokens.read).json()
    assert risk["trading_state"] == "HALTED" and risk["paused"] is True
    assert engine.post("/api/bot/resume", engine.tokens.read).status_code == 403
    refused = engine.post("/api/bot/resume", engine.tokens.admin)
    assert refused.status_code == 409 and "kill switch is engaged" in refused.json()["detail"]


def test_wipe_data_when_confirmed_while_paused_then_backup_is_made_first(engine: Headless) -> None:
    assert engine.post("/api/admin/wipe-data", engine.tokens.admin, json={"confirm": "yes"}).status_code == 422
    engine.post("/api/bot/pause", engine.tokens.read)
    done = engine.post("/api/admin/wipe-data", engine.tokens.admin, json={"confirm": "WIPE"})
    assert done.status_code == 200, done.text
    assert "backup at" in done.json()["detail"]


def test_auth_when_failures_repeat_then_client_is_rate_limited(tmp_path: Path) -> None:
    with headless_engine(tmp_path / "home") as running:
        codes = [running.get("/api/risk", f"wrong-{i}").status_code for i in range(10)]
        assert codes == [401] * 10
        blocked = running.get("/api/risk", running.tokens.read)
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
        time.sleep(0.1)
        assert running.get("/health").status_code == 200  # health stays open


def test_token_rotate_when_run_then_old_tokens_stop_working(tmp_path: Path) -> None:
    home = tmp_path / "engine-home"
    with headless_engine(home) as first:
        old = first.tokens
    with headless_engine(home) as second:  # headless_engine rotates before starting
        assert second.get("/api/risk", old.read).status_code == 401
        assert second.get("/api/risk", second.tokens.read).status_code == 200

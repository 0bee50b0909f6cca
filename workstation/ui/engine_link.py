"""One facade over the engine for every panel: in this process (LocalEngine) or a headless engine
over its HTTP API and /api/events WebSocket (RemoteEngine).

Both speak the API's JSON shapes (workstation.api.schemas, dumped to plain dicts) and emit bus
events as the WebSocket does ({"type": "TradingStateChanged", ...}), so a panel cannot tell them
apart. Every method is a coroutine run on the qasync loop; failures are EngineError with a
message a user can act on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from workstation.core.errors import WorkstationError

log = logging.getLogger(__name__)

JSON = dict[str, Any]

CONNECTED = "connected"
CONNECTING = "connecting"
DISCONNECTED = "disconnected"
NO_VENUE = "no venue"


class EngineError(WorkstationError):
    """An engine read or action failed (refused, unreachable, unauthorised)."""


class EngineLink(QObject):
    event = Signal(object)  # one bus event as a JSON dict (the /api/events shape)
    connection = Signal(str, str)  # venue or engine label, state text

    label = "engine"
    remote = False

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.states: dict[str, str] = {}

    def _set_state(self, name: str, state: str) -> None:
        if self.states.get(name) != state:
            self.states[name] = state
            self.connection.emit(name, state)

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    # reads
    async def health(self) -> JSON:
        raise NotImplementedError

    async def system_stats(self) -> JSON:
        raise NotImplementedError

    async def positions(self) -> list[JSON]:
        raise NotImplementedError

    async def balances(self) -> list[JSON]:
        raise NotImplementedError

    async def orders(self, open_only: bool = False) -> list[JSON]:
        raise NotImplementedError

    async def trades(self, environment: str) -> list[JSON]:
        raise NotImplementedError

    async def risk(self) -> JSON:
        raise NotImplementedError

    async def graduation(self) -> JSON:
        raise NotImplementedError

    # actions (each returns the API's ActionResult: {"action", "ok", "detail"})
    async def pause(self) -> JSON:
        raise NotImplementedError

    async def resume(self) -> JSON:
        raise NotImplementedError

    async def emergency_stop(self, reason: str, close_positions: bool = False) -> JSON:
        raise NotImplementedError

    async def cancel_orders(self) -> JSON:
        raise NotImplementedError

    async def close_positions(self) -> JSON:
        raise NotImplementedError

    async def wipe_data(self) -> JSON:
        raise NotImplementedError

    async def approve_live(self, candidate_id: int) -> JSON:
        raise EngineError("LIVE approval is made on the machine that holds the graduation queue")

    async def add_candidate(self, spec: JSON) -> JSON:
        raise EngineError("candidates are queued on the machine that holds the graduation queue")

    async def demote(self, candidate_id: int, reason: str) -> JSON:
        raise EngineError("demote on the machine that holds the graduation queue (`workstation graduation demote`)")

    async def retire(self, candidate_id: int, reason: str) -> JSON:
        raise EngineError("retire on the machine that holds the graduation queue (`workstation graduation retire`)")


class RemoteEngine(EngineLink):
    """A headless engine (`workstation headless`) over HTTP and its event WebSocket."""

    remote = True

    def __init__(self, url: str, token: str, parent: QObject | None = None, *, timeout_s: float = 10.0) -> None:
        super().__init__(parent)
        self.url = url.rstrip("/")
        self.label = self.url
        self._token = token
        self._timeout_s = timeout_s
        self._client: Any = None
        self._ws_task: asyncio.Task[None] | None = None
        self.ws_connected = asyncio.Event()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def start(self) -> None:
        import httpx

        self._client = httpx.AsyncClient(base_url=self.url, headers=self._headers(), timeout=self._timeout_s)
        self._set_state(self.label, CONNECTING)
        self._ws_task = asyncio.get_running_loop().create_task(self._follow_events(), name="remote-events")

    async def stop(self) -> None:
        if self._ws_task is not None:
            self._ws_task.cancel()
            await asyncio.gather(self._ws_task, return_exceptions=True)
            self._ws_task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _follow_events(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus, WebSocketException

        ws_url = "ws" + self.url.removeprefix("http") + "/api/events"
        delay = 0.5
        while True:
            try:
                async with connect(
                    ws_url, additional_headers=self._headers(), open_timeout=self._timeout_s, close_timeout=1
                ) as ws:
                    self._set_state(self.label, CONNECTED)
                    self.ws_connected.set()
                    delay = 0.5
                    async for text in ws:
                        self._emit(text)
                # The engine closed the stream: code 4401 is its "invalid token".
                if ws.close_code == 4401:
                    self._set_state(self.label, "token refused (workstation keys set-token URL)")
                    return
            except asyncio.CancelledError:
                raise
            except (OSError, WebSocketException, InvalidStatus, TimeoutError) as exc:
                log.debug("remote events: %s", exc)
            self.ws_connected.clear()
            self._set_state(self.label, f"{DISCONNECTED}, retrying")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _emit(self, text: str | bytes) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            log.warning("remote events: not JSON: %.80r", text)
            return
        if isinstance(data, dict):
            self.event.emit(data)

    async def _request(self, method: str, path: str, body: JSON | None = None, **params: Any) -> Any:
        import httpx

        if self._client is None:
            raise EngineError(f"not connected to {self.url}")
        try:
            response = await self._client.request(method, path, json=body, params=params or None)
        except httpx.HTTPError as exc:
            self._set_state(self.label, f"{DISCONNECTED}: {type(exc).__name__}")
            raise EngineError(f"{self.url} unreachable: {exc or type(exc).__name__}") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            if response.status_code == 401:
                self._set_state(self.label, "token refused (workstation keys set-token URL)")
            raise EngineError(f"{self.url}{path}: {response.status_code} {detail}")
        return response.json()

    async def health(self) -> JSON:
        return await self._request("GET", "/health")

    async def system_stats(self) -> JSON:
        return await self._request("GET", "/api/system-stats")

    async def positions(self) -> list[JSON]:
        return await self._request("GET", "/api/positions")

    async def balances(self) -> list[JSON]:
        return await self._request("GET", "/api/multi-balance")

    async def orders(self, open_only: bool = False) -> list[JSON]:
        return await self._request("GET", "/api/orders", open_only=str(open_only).lower())

    async def trades(self, environment: str) -> list[JSON]:
        return await self._request("GET", f"/api/trades/{environment}")

    async def risk(self) -> JSON:
        return await self._request("GET", "/api/risk")

    async def graduation(self) -> JSON:
        return await self._request("GET", "/api/graduation")

    async def pause(self) -> JSON:
        return await self._request("POST", "/api/bot/pause")

    async def resume(self) -> JSON:
        return await self._request("POST", "/api/bot/resume")

    async def emergency_stop(self, reason: str, close_positions: bool = False) -> JSON:
        body = {"reason": reason, "close_positions": close_positions}
        return await self._request("POST", "/api/bot/emergency-stop", body)

    async def cancel_orders(self) -> JSON:
        return await self._request("POST", "/api/admin/cancel-orders")

    async def close_positions(self) -> JSON:
        return await self._request("POST", "/api/admin/close-positions")

    async def wipe_data(self) -> JSON:
        return await self._request("POST", "/api/admin/wipe-data", {"confirm": "WIPE"})

"""The FastAPI application: routes, bearer-token auth, failure rate limiting, generic errors.

No `from __future__ import annotations` here: FastAPI resolves the dependency annotations,
which are local to create_app, at definition time."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect, status
from fastapi.responses import JSONResponse

from workstation import APP_NAME, __version__
from workstation.api import schemas as s
from workstation.api.events import EventFanout
from workstation.api.ratelimit import FailureLimiter
from workstation.api.service import ConflictError, EngineService
from workstation.api.tokens import Role, TokenStore

log = logging.getLogger(__name__)

Environment = Literal["paper", "testnet", "demo", "mainnet"]


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _client(host: str | None) -> str:
    # The peer address only: X-Forwarded-For is trusted nowhere (a proxy in front shares one address).
    return host or "unknown"


class Authenticator:
    def __init__(self, tokens: TokenStore, limiter: FailureLimiter) -> None:
        self.tokens = tokens
        self.limiter = limiter

    def check(self, header: str | None, client: str, needed: Role) -> Role:
        wait = self.limiter.blocked_for(client)
        if wait > 0:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                "too many failed attempts",
                headers={"Retry-After": str(int(wait) + 1)},
            )
        role = self.tokens.verify(_bearer(header))
        if role is None:
            if self.limiter.record_failure(client):
                log.warning("api: %s blocked after repeated authentication failures", client)
            else:
                log.warning("api: authentication failed from %s", client)
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "invalid or missing token", headers={"WWW-Authenticate": "Bearer"}
            )
        self.limiter.record_success(client)
        if needed is Role.ADMIN and role is not Role.ADMIN:
            log.warning("api: read token used for an admin action from %s", client)
            raise HTTPException(status.HTTP_403_FORBIDDEN, "admin token required")
        return role


def create_app(service: EngineService, tokens: TokenStore, limiter: FailureLimiter | None = None) -> FastAPI:
    auth = Authenticator(tokens, limiter or FailureLimiter())
    fanout = EventFanout(service.runtime.bus)
    app = FastAPI(title=f"{APP_NAME} API", version=__version__, docs_url=None, redoc_url=None)
    app.state.fanout = fanout  # the bus holds its handler weakly: keep it alive with the app

    def need(role: Role) -> Callable[[Request], Role]:
        def dependency(request: Request) -> Role:
            client = _client(request.client.host if request.client else None)
            return auth.check(request.headers.get("authorization"), client, role)

        return dependency

    reader = Annotated[Role, Depends(need(Role.READ))]
    admin = Annotated[Role, Depends(need(Role.ADMIN))]

    @app.exception_handler(ConflictError)
    async def _conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("api: %s %s failed", request.method, request.url.path)
        return JSONResponse({"detail": "internal error (see the engine log)"}, status_code=500)

    @app.get("/health", response_model=s.Health, tags=["status"])
    async def health() -> s.Health:
        return service.health()

    @app.get("/api/system-stats", response_model=s.SystemStats, tags=["status"])
    async def system_stats(_: reader) -> s.SystemStats:
        return service.system_stats()

    @app.get("/api/positions", response_model=list[s.PositionOut], tags=["account"])
    async def positions(_: reader) -> list[s.PositionOut]:
        return service.positions()

    @app.get("/api/multi-balance", response_model=list[s.VenueBalances], tags=["account"])
    async def multi_balance(_: reader) -> list[s.VenueBalances]:
        return service.balances()

    @app.get("/api/trades/{environment}", response_model=list[s.TradeOut], tags=["account"])
    async def trades(environment: Environment, _: reader) -> list[s.TradeOut]:
        return await service.trades(environment)

    @app.get("/api/orders", response_model=list[s.OrderOut], tags=["account"])
    async def orders(_: reader, open_only: bool = False) -> list[s.OrderOut]:
        return await service.orders(open_only=open_only)

    @app.get("/api/risk", response_model=s.RiskOut, tags=["risk"])
    async def risk(_: reader) -> s.RiskOut:
        return await service.risk()

    @app.get("/api/graduation", response_model=s.GraduationOut, tags=["risk"])
    async def graduation(_: reader) -> s.GraduationOut:
        return await service.graduation()

    def who(request: Request, role: Role) -> str:
        return f"api:{role.value}@{_client(request.client.host if request.client else None)}"

    @app.post("/api/bot/pause", response_model=s.ActionResult, tags=["control"])
    async def pause(request: Request, role: reader) -> s.ActionResult:
        return service.pause(who(request, role))

    @app.post("/api/bot/resume", response_model=s.ActionResult, tags=["control"])
    async def resume(request: Request, role: admin) -> s.ActionResult:
        return service.resume(who(request, role))

    @app.post("/api/bot/emergency-stop", response_model=s.ActionResult, tags=["control"])
    async def emergency_stop(request: Request, body: s.EmergencyStopRequest, role: reader) -> s.ActionResult:
        return await service.emergency_stop(who(request, role), body.reason, body.close_positions)

    async def admin_action(
        action: Callable[[str], Awaitable[s.ActionResult]], request: Request, role: Role
    ) -> s.ActionResult:
        return await action(who(request, role))

    @app.post("/api/admin/close-positions", response_model=s.ActionResult, tags=["admin"])
    async def close_positions(request: Request, role: admin) -> s.ActionResult:
        return await admin_action(service.close_positions, request, role)

    @app.post("/api/admin/cancel-orders", response_model=s.ActionResult, tags=["admin"])
    async def cancel_orders(request: Request, role: admin) -> s.ActionResult:
        return await admin_action(service.cancel_orders, request, role)

    @app.post("/api/admin/wipe-data", response_model=s.ActionResult, tags=["admin"])
    async def wipe_data(request: Request, body: s.WipeRequest, role: admin) -> s.ActionResult:
        return await admin_action(service.wipe_data, request, role)

    @app.websocket("/api/events")
    async def events(websocket: WebSocket) -> None:
        client = _client(websocket.client.host if websocket.client else None)
        try:
            auth.check(websocket.headers.get("authorization"), client, Role.READ)
        except HTTPException:
            await websocket.close(code=4401)
            return
        await websocket.accept()
        queue = fanout.open()
        # The client never sends; a receive() that returns means it left (or the server stops).
        gone = asyncio.create_task(websocket.receive())
        try:
            while True:
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, gone}, return_when=asyncio.FIRST_COMPLETED)
                if gone in done:
                    getter.cancel()
                    break
                await websocket.send_text(getter.result())
        except (WebSocketDisconnect, asyncio.CancelledError, RuntimeError):
            pass
        finally:
            gone.cancel()
            fanout.close(queue)

    return app

"""Run the headless engine: the kernel and the API on one asyncio loop, no Qt anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn

from workstation.api.app import create_app
from workstation.api.service import EngineService
from workstation.api.tokens import TokenStore
from workstation.runtime import Runtime
from workstation.wiring import build_kernel

log = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


async def serve(runtime: Runtime, host: str, port: int, *, announce: bool = True) -> int:
    tokens = TokenStore.for_home(runtime.home)
    issued = tokens.load_or_create()
    if issued is not None and announce:
        # Shown once, on the operator's terminal, never logged; only hashes are stored.
        print("API tokens created (shown once; store them in your password manager):", flush=True)
        print(f"  read/operator token: {issued.read}", flush=True)
        print(f"  admin token:         {issued.admin}", flush=True)
    if host not in LOOPBACK:
        log.warning("api: listening on %s: TLS must come from a reverse proxy (see docs/droplet.md)", host)

    kernel = build_kernel(runtime)
    service = EngineService(runtime, kernel)
    app = create_app(service, tokens)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: no add_signal_handler
            loop.add_signal_handler(sig, stop.set)

    service.lag.start()
    if kernel is not None:
        await kernel.start()
    server_task = asyncio.create_task(server.serve(), name="api-server")
    stop_task = asyncio.create_task(stop.wait(), name="stop")
    limit_task = asyncio.create_task(_debug_session_limit(runtime), name="debug-session-limit")
    log.info(
        "headless engine up on http://%s:%d (debug mode %s)",
        host,
        port,
        "ON" if runtime.debug_switch.enabled else "OFF",
    )
    try:
        await asyncio.wait({server_task, stop_task, limit_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        await asyncio.gather(server_task, return_exceptions=True)
        for task in (stop_task, limit_task):
            task.cancel()
        await service.lag.stop()
        if kernel is not None:
            await kernel.stop()
        log.info("headless engine stopped")
    return 0


async def _debug_session_limit(runtime: Runtime) -> None:
    session = runtime.debug_session
    while True:
        await asyncio.sleep(min(1.0, max(0.05, session.remaining_s())))
        if runtime.debug_switch.enabled and session.expired():
            log.warning(session.expiry_message())
            return

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
from workstation.core.enums import Venue
from workstation.runtime import Runtime
from workstation.wiring import build_engine

log = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


async def serve(
    runtime: Runtime,
    host: str,
    port: int,
    *,
    announce: bool = True,
    replay: str | None = None,
    replay_speed: float = 0.0,
    sync: bool = True,
) -> int:
    """`replay` (SYMBOL:INTERVAL[:STRATEGY[:NAME=VALUE,...]], paper.session.ReplaySpec) runs the paper venue on stored candles while serving."""
    tokens = TokenStore.for_home(runtime.home)
    issued = tokens.load_or_create()
    if issued is not None and announce:
        # Shown once, on the operator's terminal, never logged; only hashes are stored.
        print("API tokens created (shown once; store them in your password manager):", flush=True)
        print(f"  read/operator token: {issued.read}", flush=True)
        print(f"  admin token:         {issued.admin}", flush=True)
    if host not in LOOPBACK:
        log.warning("api: listening on %s: TLS must come from a reverse proxy (see docs/droplet.md)", host)

    session = None
    if replay is not None:
        from workstation.core.errors import WorkstationError
        from workstation.paper.account_session import PaperSession
        from workstation.paper.session import ReplaySpec

        if runtime.settings.trading.venue is not Venue.PAPER:
            log.error("--replay needs trading.venue=paper (it is %s)", runtime.settings.trading.venue.value)
            return 2
        try:  # the home's journalled paper account, resumed, with the risk manager on the order path
            session = await PaperSession.open(runtime, ReplaySpec.parse(replay))
        except WorkstationError as exc:
            log.error("paper replay refused: %s", exc)
            return 2
        log.info("paper account %s; reconcile: %s", "restored" if session.restored else "created", session.reconcile)
    # Without a feed a paper account has nothing to follow: headless paper runs kernel-less then.
    unfed_paper = runtime.settings.trading.venue is Venue.PAPER and session is None
    engine = None if unfed_paper or session is not None else build_engine(runtime)
    kernel = session.kernel if session is not None else engine.kernel if engine is not None else None
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
    if engine is not None:
        await engine.start(runtime)
    scheduler = None
    if sync:
        from workstation.data.sync import make_scheduler
        from workstation.paper.session import candle_store_path

        scheduler = make_scheduler(runtime.settings, candle_store_path(runtime.home))
        scheduler.start()
    server_task = asyncio.create_task(server.serve(), name="api-server")
    stop_task = asyncio.create_task(stop.wait(), name="stop")
    limit_task = asyncio.create_task(_debug_session_limit(runtime), name="debug-session-limit")
    replay_task = None
    if session is not None:
        replay_task = asyncio.create_task(session.run(replay_speed), name="paper-replay")
        replay_task.add_done_callback(_report_replay)
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
        for task in (stop_task, limit_task, replay_task):
            if task is not None:
                task.cancel()
        if replay_task is not None:
            await asyncio.gather(replay_task, return_exceptions=True)
        await service.lag.stop()
        if scheduler is not None:
            await scheduler.stop()
        if session is not None:
            await session.close()  # the kernel, then the paper account's lock
        elif kernel is not None:
            await kernel.stop()
        log.info("headless engine stopped")
    return 0


def _report_replay(task: asyncio.Task[int]) -> None:
    if task.cancelled():
        return
    if task.exception() is not None:
        log.error("paper replay failed: %s", task.exception())
    else:
        log.info("paper replay done: %d candles; the account stays served", task.result())


async def _debug_session_limit(runtime: Runtime) -> None:
    session = runtime.debug_session
    while True:
        await asyncio.sleep(min(1.0, max(0.05, session.remaining_s())))
        if runtime.debug_switch.enabled and session.expired():
            log.warning(session.expiry_message())
            return

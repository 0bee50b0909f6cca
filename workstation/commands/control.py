"""`workstation control pause|resume|emergency-stop|cancel-all|close-all`.

Three ways to reach the engine:
- `--remote URL`: a headless engine's API, with the token stored by `workstation keys set-token`;
- a `workstation trade` running on this --home: the request goes through the control file and the
  trader acts at its next candle (this command waits for its answer);
- nothing running: the command starts the engine on the home's paper account itself (ledger,
  reconcile), acts, and stops.
The emergency stop engages the kill switch first, in the home's state file, so it stays on across
restarts until `workstation kill-switch clear`.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import time
from typing import Annotated, Any

import typer

from workstation.commands.common import EXIT_FAILED, fail, options, out_console
from workstation.core.enums import Venue
from workstation.core.errors import WorkstationError
from workstation.runtime import Runtime

app = typer.Typer(help="Pause, resume or stop trading; cancel all orders; close all positions.", no_args_is_help=True)
RemoteOpt = Annotated[
    str | None, typer.Option("--remote", metavar="URL", help="A headless engine (token from the keyring).")
]
WaitOpt = Annotated[float, typer.Option("--wait", help="Seconds to wait for a running trader's answer.")]
REMOTE_PATHS = {
    "pause": "/api/bot/pause",
    "resume": "/api/bot/resume",
    "emergency-stop": "/api/bot/emergency-stop",
    "cancel-all": "/api/admin/cancel-orders",
    "close-all": "/api/admin/close-positions",
}


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _say(text: str) -> None:
    out_console.print(text, markup=False)


def _remote(url: str, action: str, body: dict[str, Any] | None = None) -> None:
    import httpx

    from workstation.commands.keys import remote_key, remote_token

    try:
        token = remote_token(url)
    except WorkstationError as exc:
        fail(f"error: {exc}")
    if not token:
        fail(f"no API token stored for {remote_key(url)}: run `workstation keys set-token {remote_key(url)}`")
    try:
        response = httpx.post(
            remote_key(url) + REMOTE_PATHS[action],
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        fail(f"error: {remote_key(url)} unreachable: {exc}")
    if response.status_code >= 400:
        fail(f"error: {action} refused by {remote_key(url)} ({response.status_code}): {response.text}")
    _say(f"{action}: {response.json().get('detail', response.text)}")


def _trader_running(rt: Runtime) -> bool:
    from workstation.paper.store import PaperLock, PaperLockedError, paper_dir

    try:
        PaperLock(paper_dir(rt.home) / "lock").release()
    except PaperLockedError:
        return True
    return False


def _ask_trader(rt: Runtime, request: dict[str, Any], wait_s: float) -> None:
    from workstation.paper.store import read_control, write_control
    from workstation.paper.trading import ack_path

    seq = int(read_control(rt.home).get("seq", 0)) + 1
    write_control(rt.home, seq=seq, **request)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            ack = json.loads(ack_path(rt).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            ack = {}
        if int(ack.get("seq", 0)) >= seq:
            if ack.get("ok") is False:
                fail(f"{request['action']} (running trader): {ack.get('detail', '')}", EXIT_FAILED)
            _say(f"{request['action']} (running trader): {ack.get('detail', '')}")
            return
        time.sleep(0.1)
    fail(f"{request['action']}: sent to the running trader, no answer within {wait_s:g} s", EXIT_FAILED)


def _local(rt: Runtime, request: dict[str, Any]) -> None:
    """No trader running: start the engine on this home, act, stop."""
    from workstation.paper.trading import run_action

    async def go() -> str:
        from workstation.paper.store import open_paper
        from workstation.wiring import build_engine

        paper, lock = None, None
        if rt.settings.trading.venue is Venue.PAPER:
            paper, lock, _ = open_paper(rt.home, cash=rt.settings.trading.paper_balance)
        try:
            engine = build_engine(rt, paper=paper, poll_interval_s=None)
            if engine is None:  # a real venue in debug mode: no key, no account to act on
                return f"no {rt.settings.trading.venue.value} account in debug mode: nothing to cancel or close"
            await engine.kernel.start()
            try:
                return await run_action(rt, engine.kernel, request)
            finally:
                await engine.kernel.stop()
        finally:
            if lock is not None:
                lock.release()

    try:
        _say(f"{request['action']}: {asyncio.run(go())}")
    except WorkstationError as exc:
        fail(f"error: {exc}")


def _act(ctx: typer.Context, request: dict[str, Any], remote: str | None, wait_s: float) -> None:
    rt = options(ctx).runtime()
    if request["action"] == "emergency-stop":  # persisted first: on across restarts, whatever follows
        rt.kill_switch.engage(request["reason"], request["by"])
        _say(f"kill switch: {rt.kill_switch.describe()}")
    if remote is not None:
        body = None
        if request["action"] == "emergency-stop":
            body = {"reason": request["reason"], "close_positions": request["flatten"]}
        _remote(remote, request["action"], body)
    elif _trader_running(rt):
        _ask_trader(rt, request, wait_s)
    else:
        _local(rt, request)


@app.command("pause")
def pause(ctx: typer.Context, remote: RemoteOpt = None) -> None:
    """Strategies send no new orders (resting orders and positions stay)."""
    if remote is not None:
        _remote(remote, "pause")
        return
    from workstation.paper.store import write_control

    write_control(options(ctx).runtime().home, paused=True, paused_by=_who())
    _say("paused: strategies send no new orders (a running trader picks this up at its next candle)")


@app.command("resume")
def resume(ctx: typer.Context, remote: RemoteOpt = None) -> None:
    """Let strategies trade again (refused while the kill switch is engaged)."""
    if remote is not None:
        _remote(remote, "resume")
        return
    rt = options(ctx).runtime()
    if rt.kill_switch.engaged:
        fail(f"kill switch is engaged ({rt.kill_switch.describe()}): `workstation kill-switch clear` first")
    from workstation.paper.store import write_control

    write_control(rt.home, paused=False, paused_by=None)
    _say("resumed")


@app.command("emergency-stop")
def emergency_stop(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the kill switch).")] = "emergency stop",
    flatten: Annotated[bool, typer.Option("--flatten/--no-flatten", help="Also close every position.")] = False,
    remote: RemoteOpt = None,
    wait: WaitOpt = 15.0,
) -> None:
    """Engage the kill switch (persisted), cancel every open order and optionally flatten."""
    request = {"action": "emergency-stop", "reason": reason, "by": _who(), "flatten": flatten}
    _act(ctx, request, remote, wait)


@app.command("cancel-all")
def cancel_all(ctx: typer.Context, remote: RemoteOpt = None, wait: WaitOpt = 15.0) -> None:
    """Cancel every open order."""
    _act(ctx, {"action": "cancel-all", "by": _who()}, remote, wait)


@app.command("close-all")
def close_all(ctx: typer.Context, remote: RemoteOpt = None, wait: WaitOpt = 15.0) -> None:
    """Close every position at market (reduce-only)."""
    _act(ctx, {"action": "close-all", "by": _who()}, remote, wait)

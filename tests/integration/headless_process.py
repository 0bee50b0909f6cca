"""Start `workstation headless` as a real process on a free loopback port and wait until it serves."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.integration.cli_runner import REPO, workstation_exe
from tests.integration.live_trader import stop_process
from workstation.api.tokens import IssuedTokens, TokenStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Headless:
    url: str
    tokens: IssuedTokens
    process: subprocess.Popen[str]

    def headers(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, token: str | None = None) -> requests.Response:
        return requests.get(self.url + path, headers=self.headers(token), timeout=10)

    def post(self, path: str, token: str | None = None, json: object | None = None) -> requests.Response:
        return requests.post(self.url + path, headers=self.headers(token), json=json, timeout=30)


@contextmanager
def headless_engine(
    home: Path, *args: str, env: dict[str, str] | None = None, sync: bool = False
) -> Iterator[Headless]:
    """`sync=False` by default: the daily data sync would reach for the real exchange."""
    tokens = TokenStore.for_home(home).rotate()
    port = free_port()
    process = subprocess.Popen(
        [*workstation_exe(), *args, "headless", "--port", str(port), *(() if sync else ("--no-sync",))],
        cwd=REPO,
        env={**os.environ, "WORKSTATION_HOME": str(home), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"headless exited with {process.returncode}: {process.stdout.read() if process.stdout else ''}"
                )
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("headless engine did not come up within 60 s")
            time.sleep(0.2)
        yield Headless(url, tokens, process)
    finally:
        stop_process(process)

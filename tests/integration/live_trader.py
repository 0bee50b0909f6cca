"""Run `workstation trade --env testnet` as a real process against the fake Bybit (REST, private
WebSocket) and the fake public WebSocket, feeding it real BTC 1h candles one closed bar at a time."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.bybit_public_ws import FakePublicWs
from tests.fakes.bybit_server import FakeBybit
from tests.fakes.bybit_ws import StreamingFakeBybit
from tests.fakes.real_candles import BTC_1H, candles, rows
from tests.integration.cli_runner import REPO, workstation_exe
from workstation.core.clock import SystemClock
from workstation.data.arrays import CandleArrays
from workstation.graduation.models import Evidence, Performance, Stage
from workstation.graduation.pipeline import GraduationPipeline
from workstation.graduation.store import GraduationStore, store_path
from workstation.runtime import build_runtime

KEY = "LIVETRADERKEY0000001"
SECRET = "LIVETRADERSECRET00000000000000000001"
KEY_ENV = {"WORKSTATION_BYBIT_TESTNET_API_KEY": KEY, "WORKSTATION_BYBIT_TESTNET_API_SECRET": SECRET}
HOUR = 3_600_000
SMA_2_3 = ("--strategy", "sma_cross", "--param", "fast=2", "--param", "slow=3")  # the trader's default strategy
# graduation criteria loose enough for a hand-made candidate to pass CANDIDATE and PAPER at once
LOOSE = ("graduation.candidate.min_trades=0", "graduation.candidate.min_sharpe=null",
         "graduation.candidate.min_profit_factor=null", "graduation.candidate.max_drawdown=null",
         "graduation.paper.min_days=0", "graduation.paper.min_trades=0", "graduation.paper.min_sharpe=null",
         "graduation.paper.min_profit_factor=null", "graduation.paper.require_mc_band=false")  # fmt: skip


def real_hours(warm: int, live: int) -> tuple[CandleArrays, CandleArrays]:
    """Real consecutive BTC 1h bars, moved in time so the `warm` ones closed before now and the
    `live` ones follow them."""
    bars = candles(BTC_1H, first=5000, count=warm + live)
    shift = (time.time_ns() // 1_000_000 // HOUR - warm) * HOUR - int(bars.ts[0])
    moved = CandleArrays(bars.ts + shift, bars.open, bars.high, bars.low, bars.close, bars.volume)
    return moved.take(slice(0, warm)), moved.take(slice(warm, None))


def serve_history(fake: FakeBybit, warm: CandleArrays) -> None:
    fake.add_key(KEY, SECRET)
    fake.set_candles("BTCUSDT", "60", rows(warm))
    fake.set_balance("USDT", "10000")
    fake.set_mark_price("BTCUSDT", str(float(warm.close[-1])))


def candidate_in_testnet(
    home: Path, band: tuple[float, float] = (-0.05, 0.05), mc_window: int = 5, params: dict[str, int] | None = None
) -> str:
    """Candidate 1 (the live trader's sma_cross 2/3 BTCUSDT 1h, or `params`) promoted CANDIDATE ->
    PAPER -> TESTNET with `band` as its Monte Carlo band of the mean return over `mc_window` trades;
    its strategy id."""
    rt = build_runtime(home=home, config_file=None, overrides=LOOSE)
    store = GraduationStore.open(store_path(home))
    try:
        pipeline = GraduationPipeline(store, rt.settings.graduation, bus=rt.bus, clock=SystemClock())
        evidence = Evidence(Performance(200, sharpe=2.0, max_drawdown=0.1), mc_band=band, mc_window=mc_window)
        cand = pipeline.add(
            strategy="sma_cross", params=params or {"fast": 2, "slow": 3}, symbol="BTCUSDT", interval="1h",
            evidence=evidence, by="test",
        )  # fmt: skip
        pipeline.evaluate(cand.id)
        pipeline.evaluate(cand.id, Performance(50, max_drawdown=0.05, fill_ratio=1.0, slippage_bps=1.0))
        assert pipeline.get(cand.id).stage is Stage.TESTNET
        return cand.strategy_id
    finally:
        store.close()


@dataclass
class LiveTrader:
    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def wait_for(self, prefix: str, timeout_s: float = 30.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line starting {prefix!r}; output so far:\n" + "\n".join(self.seen))

    def finish(self, timeout_s: float = 30.0) -> str:
        """Wait for the exit; everything it printed."""
        self.process.wait(timeout_s)
        time.sleep(0.1)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "\n".join(self.seen)


@contextmanager
def live_trader(
    home: Path,
    fake: FakeBybit,
    public: FakePublicWs,
    *args: str,
    debug: bool,
    stream_url: str | None = None,
    overrides: tuple[str, ...] = (),
    trade_args: tuple[str, ...] = SMA_2_3,
    symbol: str = "BTCUSDT",
) -> Iterator[LiveTrader]:
    settings = ["--set", f"debug_mode={'true' if debug else 'false'}"]
    settings += [arg for o in overrides for arg in ("--set", o)]
    settings += ["--set", f"exchanges.bybit.base_url={fake.base_url}"]
    settings += ["--set", f"exchanges.bybit.public_stream_url={public.url}"]
    if stream_url:
        settings += ["--set", f"exchanges.bybit.stream_url={stream_url}"]
    command = [*settings, "trade", *trade_args, "--symbol", symbol, "--interval", "1h", "--env", "testnet", *args]
    with running_workstation(home, command, KEY_ENV) as trader:
        yield trader


@contextmanager
def running_workstation(home: Path, command: list[str], env: dict[str, str]) -> Iterator[LiveTrader]:
    """`workstation <command>` running on `home` (extra environment `env`, e.g. a venue's keys), its
    output lines in a LiveTrader; stopped (SIGTERM, then SIGKILL) when the block ends."""
    process = subprocess.Popen(
        [*workstation_exe(), *command],
        cwd=REPO,
        env={**os.environ, "WORKSTATION_HOME": str(home), "COLUMNS": "250", "NO_COLOR": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    trader = LiveTrader(process)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            trader.lines.put(line.rstrip("\n"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield trader
    finally:
        stop_process(process)
        reader.join(5)


def stop_process(process: subprocess.Popen[str]) -> None:
    """Terminate a child still running (SIGTERM, then SIGKILL after 15 s) and reap it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def trade_testnet(
    home: Path,
    public: FakePublicWs,
    live_bars: int,
    *,
    overrides: tuple[str, ...] = (),
    trade_args: tuple[str, ...] = SMA_2_3,
    until: str | None = None,
) -> tuple[str, list[str]]:
    """One `workstation trade --env testnet --bars N` run (debug mode off, private stream on) on a
    fresh streaming fake Bybit: 200 real BTC 1h bars of history, then `live_bars` fed one by one
    (`until`: see feed_bars). Asserts exit 0; its output and the orderLinkIds it sent."""
    warm, live = real_hours(200, live_bars)
    with StreamingFakeBybit() as fake:
        serve_history(fake, warm)
        with live_trader(
            home, fake, public, "--bars", str(live_bars), debug=False, stream_url=fake.ws.url, overrides=overrides,
            trade_args=trade_args,
        ) as t:  # fmt: skip
            t.wait_for("READY BTCUSDT 1h")
            feed_bars(t, fake, public, live, until=until)
            out = t.finish()
        assert t.process.returncode == 0, out
        return out, [r.params["orderLinkId"] for r in fake.requests_to("/v5/order/create")]


def feed_bars(
    trader: LiveTrader, fake: FakeBybit, public: FakePublicWs, live: CandleArrays, *, until: str | None = None
) -> int:
    """Each bar as the venue sends it: an update of the open bar, then the confirmed bar; the next
    bar only once the trader has acted on this one (so the fake's market fills are at its close).
    `until`: stop feeding once the trader printed a line starting with it (before its bar's line).
    Returns the bars fed."""
    deadline = time.monotonic() + 30
    while public.live_subscribers < 1:
        assert time.monotonic() < deadline, "the trader never subscribed to the kline topic"
        time.sleep(0.05)
    fed = 0
    for bar in live.candles():
        fake.set_mark_price("BTCUSDT", str(bar.close))
        public.push_kline("BTCUSDT", "60", bar.ts, bar.open, bar.high, bar.low, bar.open, bar.volume, confirm=False)
        public.push_kline("BTCUSDT", "60", bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume, confirm=True)
        trader.wait_for(f"BAR BTCUSDT {bar.ts} ")
        fed += 1
        if until is not None and any(line.startswith(until) for line in trader.seen):
            break
    return fed

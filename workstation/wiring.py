"""Composition helpers shared by the composition roots (cli, ui, api): build concrete venue
clients through the SafetyGate and an engine kernel around them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workstation.core.enums import Venue
from workstation.core.errors import SecretsError
from workstation.core.types import ApiCredentials
from workstation.engine.kernel import EngineKernel, ledger_path
from workstation.exchanges.ports import ExecutionClient
from workstation.logs import register_secret
from workstation.runtime import Runtime
from workstation.safety.gate import GuardedExecutionClient
from workstation.secrets.keystore import KeyStore

if TYPE_CHECKING:
    from workstation.engine.precheck import OrderPrecheck
    from workstation.exchanges.bybit.guard import VenueGuard
    from workstation.exchanges.bybit.stream import BybitPrivateStream
    from workstation.exchanges.simulated import PaperExecutionClient

log = logging.getLogger(__name__)


@dataclass
class BybitWiring:
    """Everything one Bybit venue shares: one guard (bans, rate limits, hard stops) for REST,
    instruments and the private stream; the credentials only once the gate allowed trading."""

    venue: Venue
    guard: VenueGuard
    client: GuardedExecutionClient
    precheck: OrderPrecheck
    credentials: list[ApiCredentials] = field(default_factory=list)

    def private_stream(self, runtime: Runtime) -> BybitPrivateStream | None:
        """The private stream, or None when no key was loaded (debug mode, refused venue)."""
        if not self.credentials:
            return None
        from workstation.exchanges.bybit.stream import BybitPrivateStream

        url = runtime.settings.exchanges.bybit.stream_url
        return BybitPrivateStream(self.venue, self.credentials[0], url=str(url) if url else None, guard=self.guard)


def _base_url(runtime: Runtime) -> str | None:
    bybit = runtime.settings.exchanges.bybit
    return str(bybit.base_url).rstrip("/") if bybit.base_url else None


def bybit_wiring(
    runtime: Runtime, venue: Venue, keystore: KeyStore | None = None, *, reads: ExecutionClient | None = None
) -> BybitWiring:
    """The gated client for `venue`. Keys are read only inside `live`, which the gate calls only
    when trading is allowed (never in debug mode). `reads`: what answers reads when trading is
    refused (default: the venue's client without a key)."""
    if venue.exchange != "bybit":
        raise ValueError(f"no execution client for {venue.value} yet")
    from workstation.engine.precheck import OrderPrecheck
    from workstation.exchanges.bybit.client import BybitExecutionClient
    from workstation.exchanges.bybit.guard import VenueGuard
    from workstation.exchanges.bybit.instruments import InstrumentCache, bybit_instrument_fetcher

    bybit = runtime.settings.exchanges.bybit
    base_url = _base_url(runtime)
    guard = VenueGuard(venue.value, bus=runtime.bus)
    loaded: list[ApiCredentials] = []

    def live() -> ExecutionClient:
        credentials = (keystore or KeyStore()).get(venue)
        if credentials is None:
            raise SecretsError(f"no API key stored for {venue.value}: run `workstation keys set {venue.value}`")
        register_secret(credentials.api_key, credentials.api_secret)
        loaded.append(credentials)
        return BybitExecutionClient(
            venue,
            credentials,
            base_url=base_url,
            recv_window_ms=bybit.recv_window_ms,
            timeout_s=bybit.timeout_s,
            guard=guard,
        )

    def keyless() -> ExecutionClient:
        if reads is not None:
            return reads
        return BybitExecutionClient(venue, None, base_url=base_url, timeout_s=bybit.timeout_s, guard=guard)

    client = runtime.gate.execution_client(venue, live=live, keyless=keyless)
    instruments = InstrumentCache(venue.value, bybit_instrument_fetcher(venue, base_url=base_url, guard=guard))
    return BybitWiring(venue, guard, client, OrderPrecheck(instruments), loaded)


def venue_client(runtime: Runtime, venue: Venue, keystore: KeyStore | None = None) -> GuardedExecutionClient:
    return bybit_wiring(runtime, venue, keystore).client


def paper_venue(runtime: Runtime, paper: PaperExecutionClient | None = None) -> GuardedExecutionClient:
    """The gated paper client. It never needs a key, so it also serves reads in debug mode (where
    the gate still denies every order)."""
    from workstation.exchanges.simulated import PaperExecutionClient

    client = paper or PaperExecutionClient(cash=runtime.settings.trading.paper_balance)
    return runtime.gate.execution_client(Venue.PAPER, live=lambda: client, keyless=lambda: client)


@dataclass
class Engine:
    kernel: EngineKernel
    bybit: BybitWiring | None = None

    async def start(self, runtime: Runtime) -> None:
        """Load the ledger, reconcile, then follow the private stream (REST polling covers gaps)."""
        await self.kernel.start()
        stream = self.bybit.private_stream(runtime) if self.bybit is not None else None
        if stream is not None:
            self.kernel.attach_stream(stream)


def build_engine(
    runtime: Runtime,
    *,
    poll_interval_s: float | None = 5.0,
    paper: PaperExecutionClient | None = None,
    debug_reads: ExecutionClient | None = None,
) -> Engine | None:
    """The engine for the configured venue: around the gated paper account for paper (a fresh
    one unless `paper` is given), or a gated Bybit client with its guard, order precheck and
    private stream. In debug mode on a real venue no key is loaded, so there is no private account
    data: None, unless `debug_reads` is given, which then answers the reads of an engine whose
    every order the gate denies (a strategy can run and show what it would have sent)."""
    venue = runtime.settings.trading.venue
    if venue is Venue.PAPER:
        kernel = EngineKernel(
            client=paper_venue(runtime, paper),
            ledger_path=ledger_path(runtime.home),
            bus=runtime.bus,
            poll_interval_s=poll_interval_s,
        )
        return Engine(kernel)
    if runtime.debug_switch.enabled and debug_reads is None:
        log.info("engine: debug mode never loads keys; %s account data is not followed", venue.value)
        return None
    wiring = bybit_wiring(runtime, venue, reads=debug_reads if runtime.debug_switch.enabled else None)
    kernel = EngineKernel(
        client=wiring.client,
        ledger_path=ledger_path(runtime.home),
        bus=runtime.bus,
        poll_interval_s=poll_interval_s,
        precheck=wiring.precheck,
    )
    return Engine(kernel, wiring)


def build_kernel(
    runtime: Runtime, *, poll_interval_s: float | None = 5.0, paper: PaperExecutionClient | None = None
) -> EngineKernel | None:
    engine = build_engine(runtime, poll_interval_s=poll_interval_s, paper=paper)
    return engine.kernel if engine is not None else None

"""Composition helpers shared by the composition roots (cli, ui, api): build concrete venue
clients through the SafetyGate and an engine kernel around them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from workstation.core.enums import Venue
from workstation.core.errors import SecretsError
from workstation.engine.kernel import EngineKernel, ledger_path
from workstation.exchanges.ports import ExecutionClient
from workstation.logs import register_secret
from workstation.runtime import Runtime
from workstation.safety.gate import GuardedExecutionClient
from workstation.secrets.keystore import KeyStore

if TYPE_CHECKING:
    from workstation.exchanges.simulated import PaperExecutionClient

log = logging.getLogger(__name__)
PAPER_STARTING_BALANCE = 10_000.0  # USDT in a fresh paper account


def venue_client(runtime: Runtime, venue: Venue, keystore: KeyStore | None = None) -> GuardedExecutionClient:
    """The gated client for `venue`. Keys are read only inside `live`, which the gate calls only
    when trading is allowed (never in debug mode)."""
    if venue.exchange != "bybit":
        raise ValueError(f"no execution client for {venue.value} yet")
    from workstation.exchanges.bybit.client import BybitExecutionClient

    bybit = runtime.settings.exchanges.bybit
    base_url = str(bybit.base_url).rstrip("/") if bybit.base_url else None

    def live() -> ExecutionClient:
        credentials = (keystore or KeyStore()).get(venue)
        if credentials is None:
            raise SecretsError(f"no API key stored for {venue.value}: run `workstation keys set {venue.value}`")
        register_secret(credentials.api_key, credentials.api_secret)
        return BybitExecutionClient(
            venue, credentials, base_url=base_url, recv_window_ms=bybit.recv_window_ms, timeout_s=bybit.timeout_s
        )

    def keyless() -> ExecutionClient:
        return BybitExecutionClient(venue, None, base_url=base_url, timeout_s=bybit.timeout_s)

    return runtime.gate.execution_client(venue, live=live, keyless=keyless)


def paper_venue(runtime: Runtime, paper: PaperExecutionClient | None = None) -> GuardedExecutionClient:
    """The gated paper client. It never needs a key, so it also serves reads in debug mode (where
    the gate still denies every order)."""
    from workstation.exchanges.simulated import PaperExecutionClient

    client = paper or PaperExecutionClient(cash=PAPER_STARTING_BALANCE)
    return runtime.gate.execution_client(Venue.PAPER, live=lambda: client, keyless=lambda: client)


def build_kernel(
    runtime: Runtime, *, poll_interval_s: float | None = 5.0, paper: PaperExecutionClient | None = None
) -> EngineKernel | None:
    """A kernel for the configured venue: around the gated paper account for paper (a fresh one
    unless `paper` is given), or a gated Bybit client. None in debug mode on a real venue (no
    keys, so no private account data)."""
    venue = runtime.settings.trading.venue
    if venue is Venue.PAPER:
        return EngineKernel(
            client=paper_venue(runtime, paper),
            ledger_path=ledger_path(runtime.home),
            bus=runtime.bus,
            poll_interval_s=poll_interval_s,
        )
    if runtime.debug_switch.enabled:
        log.info("engine: debug mode never loads keys; %s account data is not followed", venue.value)
        return None
    client = venue_client(runtime, venue)
    return EngineKernel(
        client=client, ledger_path=ledger_path(runtime.home), bus=runtime.bus, poll_interval_s=poll_interval_s
    )

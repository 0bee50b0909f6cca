"""Composition helpers shared by the composition roots (cli, ui, api): build concrete venue
clients through the SafetyGate and an engine kernel around them."""

from __future__ import annotations

import logging

from workstation.core.enums import Venue
from workstation.core.errors import SecretsError
from workstation.engine.kernel import EngineKernel, ledger_path
from workstation.exchanges.ports import ExecutionClient
from workstation.logs import register_secret
from workstation.runtime import Runtime
from workstation.safety.gate import GuardedExecutionClient
from workstation.secrets.keystore import KeyStore

log = logging.getLogger(__name__)


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


def build_kernel(runtime: Runtime, *, poll_interval_s: float | None = 5.0) -> EngineKernel | None:
    """A kernel for the configured venue, or None when there is no account to follow: paper (the
    simulated venue is not wired yet) or debug mode (no keys, so no private account data)."""
    venue = runtime.settings.trading.venue
    if venue is Venue.PAPER:
        log.info("engine: paper venue has no simulated account wired yet; running without a kernel")
        return None
    if runtime.debug_switch.enabled:
        log.info("engine: debug mode never loads keys; %s account data is not followed", venue.value)
        return None
    client = venue_client(runtime, venue)
    return EngineKernel(
        client=client, ledger_path=ledger_path(runtime.home), bus=runtime.bus, poll_interval_s=poll_interval_s
    )

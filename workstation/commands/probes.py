"""Venue probes for the doctor: server time and key permissions, built from concrete adapters."""

from __future__ import annotations

import asyncio

from workstation.core.enums import Venue
from workstation.logs import register_secret
from workstation.safety.preflight import KeyPermissions, VenueProbe
from workstation.secrets.keystore import KeyStore
from workstation.settings.models import Settings


class BybitProbe:
    def __init__(self, venue: Venue, settings: Settings, keystore: KeyStore) -> None:
        self._venue = venue
        self._bybit = settings.exchanges.bybit
        self._keystore = keystore

    @property
    def _base_url(self) -> str | None:
        return str(self._bybit.base_url).rstrip("/") if self._bybit.base_url else None

    def server_time_ms(self, timeout_s: float) -> int:
        from workstation.exchanges.bybit.client import fetch_server_time_ms

        return fetch_server_time_ms(self._venue, base_url=self._base_url, timeout_s=timeout_s)

    def key_permissions(self, timeout_s: float) -> KeyPermissions:
        from workstation.exchanges.bybit.client import BybitExecutionClient

        credentials = self._keystore.get(self._venue)
        if credentials is None:
            raise LookupError(f"no API key stored for {self._venue.value}")
        register_secret(credentials.api_key, credentials.api_secret)
        client = BybitExecutionClient(
            self._venue,
            credentials,
            base_url=self._base_url,
            recv_window_ms=self._bybit.recv_window_ms,
            timeout_s=timeout_s,
        )
        try:
            info = asyncio.run(client.fetch_api_key_info())
        finally:
            asyncio.run(client.close())
        granted = ", ".join(f"{k}: {'/'.join(v)}" for k, v in sorted(info.permissions.items()) if v) or "none"
        summary = f"{'read-only' if info.read_only else 'read-write'}; permissions {granted}"
        summary += f"; IPs {', '.join(info.ips)}" if info.ip_bound else "; any IP"
        return KeyPermissions(
            can_withdraw=info.can_withdraw, read_only=info.read_only, ip_bound=info.ip_bound, summary=summary
        )


def probe_for(venue: Venue, settings: Settings, keystore: KeyStore) -> VenueProbe | None:
    if venue.exchange == "bybit":
        return BybitProbe(venue, settings, keystore)
    return None

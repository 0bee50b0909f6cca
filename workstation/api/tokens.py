"""API bearer tokens: a read token and an admin token, generated on first start, rotatable.

Only SHA-256 hashes are kept on disk (<home>/state/api_tokens.json, mode 0600); the plain
tokens are shown once, when they are made. Verification hashes the presented token and compares
in constant time against both hashes, so timing says nothing about either."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from workstation.core.errors import SecretsError
from workstation.logs import register_secret
from workstation.safety.switches import write_json_atomically

TOKEN_BYTES = 32


class Role(StrEnum):
    READ = "read"
    ADMIN = "admin"


@dataclass(frozen=True)
class IssuedTokens:
    read: str
    admin: str

    def __repr__(self) -> str:
        return "IssuedTokens(read=<redacted>, admin=<redacted>)"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._hashes: dict[Role, str] = {}

    @classmethod
    def for_home(cls, home: Path) -> TokenStore:
        return cls(home / "state" / "api_tokens.json")

    def load_or_create(self) -> IssuedTokens | None:
        """Load the hashes; on first start make tokens and return them (the only time they exist)."""
        if self.path.exists():
            self._load()
            return None
        return self.rotate()

    def rotate(self) -> IssuedTokens:
        """New tokens for both roles; the old ones stop working at once."""
        issued = IssuedTokens(read=secrets.token_urlsafe(TOKEN_BYTES), admin=secrets.token_urlsafe(TOKEN_BYTES))
        register_secret(issued.read, issued.admin)
        hashes = {Role.READ: _digest(issued.read), Role.ADMIN: _digest(issued.admin)}
        write_json_atomically(self.path, {"sha256": {role.value: h for role, h in hashes.items()}})
        if sys.platform != "win32":
            os.chmod(self.path, 0o600)
        self._hashes = hashes
        return issued

    def verify(self, token: str | None) -> Role | None:
        """The role this token grants, or None. Both hashes are always compared."""
        if not self._hashes:
            self._load()
        presented = _digest(token or "")
        admin = hmac.compare_digest(presented, self._hashes[Role.ADMIN])
        read = hmac.compare_digest(presented, self._hashes[Role.READ])
        if not token:
            return None
        if admin:
            return Role.ADMIN
        return Role.READ if read else None

    def _load(self) -> None:
        if sys.platform != "win32":
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if mode & 0o077:
                raise SecretsError(f"{self.path} is readable by others (mode {mode:o}); run: chmod 600 {self.path}")
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))["sha256"]
            self._hashes = {Role.READ: str(raw["read"]), Role.ADMIN: str(raw["admin"])}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SecretsError(f"{self.path} is unreadable ({type(exc).__name__}); rotate the tokens") from None

"""The project's own exceptions. Adapters translate library errors into these."""

from __future__ import annotations


class WorkstationError(Exception):
    """Base of every error the workstation raises on purpose."""


class ConfigError(WorkstationError):
    """A configuration file or override is invalid. `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class SecretsError(WorkstationError):
    """Secrets could not be stored or loaded (no backend, unsafe file, refused backend)."""


class SafetyError(WorkstationError):
    """A safety rule refused an action."""


class OrderDeniedError(SafetyError):
    """An order path was denied before anything reached the network."""

    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"{action} denied: {reason}")


class ExchangeError(WorkstationError):
    """An exchange answered with an error."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        self.code = code
        super().__init__(message if code is None else f"{message} (retCode {code})")


class ExchangeUnavailable(ExchangeError):
    """The exchange could not be reached (network, timeout, 5xx)."""

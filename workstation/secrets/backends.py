"""Choosing a keyring backend: the OS keyring is accepted, plaintext or absent ones are refused."""

from __future__ import annotations

from dataclasses import dataclass

import keyring
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from workstation.core.errors import SecretsError
from workstation.secrets.model import (
    SERVICE_NAME,
    NoKeyringAvailableError,
    UnsafeBackendError,
    headless_hint,
)

# keyrings.alt holds the plaintext, "encrypted" file and registry backends that keyring itself
# declines to recommend; any of them would be picked automatically once installed.
REFUSED_MODULE_PREFIXES: tuple[str, ...] = ("keyrings.alt",)
NO_KEYRING_BACKENDS: frozenset[str] = frozenset({"keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"})


def backend_path(backend: KeyringBackend) -> str:
    """The dotted class path of a backend, e.g. keyring.backends.SecretService.Keyring."""
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _problem(backend: KeyringBackend) -> SecretsError | None:
    path = backend_path(backend)
    module = type(backend).__module__
    if any(module == p or module.startswith(p + ".") for p in REFUSED_MODULE_PREFIXES):
        return UnsafeBackendError(
            f"Refusing keyring backend {path}: it keeps secrets in a plaintext or weakly protected "
            "file (it comes from the keyrings.alt package). Uninstall it (pip uninstall keyrings.alt) "
            "or choose the OS keyring with PYTHON_KEYRING_BACKEND (for example "
            "keyring.backends.SecretService.Keyring on Linux). " + headless_hint()
        )
    if path == "keyring.backends.null.Keyring":
        return NoKeyringAvailableError(
            f"The keyring is disabled (backend {path} stores nothing); remove it from keyringrc.cfg "
            "or PYTHON_KEYRING_BACKEND to use the OS keyring. " + headless_hint()
        )
    if path in NO_KEYRING_BACKENDS:
        return NoKeyringAvailableError(no_keyring_message(path))
    return None


def no_keyring_message(path: str) -> str:
    return (
        f"No OS keyring is available (backend {path}): no Secret Service, macOS Keychain or "
        "Windows Credential Manager was found. On a Linux desktop, install and start a Secret "
        "Service such as gnome-keyring or KWallet. " + headless_hint()
    )


def resolve_backend(backend: KeyringBackend) -> KeyringBackend:
    """Return the backend to store secrets in, or raise SecretsError naming the refused one.

    A chainer is replaced by the first acceptable backend it chains, so a plaintext backend
    further down the chain is never read or written.
    """
    if isinstance(backend, ChainerBackend):
        chained: list[KeyringBackend] = list(backend.backends)
        problems: list[SecretsError] = []
        for candidate in chained:
            problem = _problem(candidate)
            if problem is None:
                return candidate
            problems.append(problem)
        if not chained:
            raise NoKeyringAvailableError(no_keyring_message(backend_path(backend)))
        names = ", ".join(backend_path(b) for b in chained)
        if any(isinstance(p, UnsafeBackendError) for p in problems):
            first = next(p for p in problems if isinstance(p, UnsafeBackendError))
            raise UnsafeBackendError(f"The keyring chain ({names}) has no safe backend. {first}")
        raise NoKeyringAvailableError(f"The keyring chain ({names}) has no usable backend. {problems[0]}")
    problem = _problem(backend)
    if problem is not None:
        raise problem
    return backend


def default_backend() -> KeyringBackend:
    """keyring's configured or detected backend (honours keyringrc.cfg and PYTHON_KEYRING_BACKEND)."""
    failure: str | None = None
    try:
        return keyring.get_keyring()
    except Exception as exc:  # a keyringrc.cfg or PYTHON_KEYRING_BACKEND naming a missing class
        failure = f"{type(exc).__name__}: {exc}"
    raise NoKeyringAvailableError(
        f"The configured keyring backend cannot be loaded ({failure}); check PYTHON_KEYRING_BACKEND "
        "and keyringrc.cfg. " + headless_hint()
    )


@dataclass(frozen=True, slots=True)
class BackendDescription:
    """What the doctor shows about the keyring. `problem` is empty when `usable`."""

    name: str
    usable: bool
    problem: str = ""

    def __str__(self) -> str:
        return f"{self.name}: ok" if self.usable else f"{self.name}: {self.problem}"


def describe_backend(backend: KeyringBackend | None = None, *, probe: bool = False) -> BackendDescription:
    """Describe the keyring backend the KeyStore would use.

    With `probe`, also look up a name that is never stored, which proves the service answers
    (on a desktop this may show an unlock prompt).
    """
    try:
        candidate = default_backend() if backend is None else backend
    except SecretsError as exc:
        return BackendDescription(name="(not loaded)", usable=False, problem=str(exc))
    try:
        chosen = resolve_backend(candidate)
    except SecretsError as exc:
        return BackendDescription(name=backend_path(candidate), usable=False, problem=str(exc))
    name = backend_path(chosen)
    if probe:
        failure = _probe(chosen)
        if failure:
            return BackendDescription(name=name, usable=False, problem=failure)
    return BackendDescription(name=name, usable=True)


def _probe(backend: KeyringBackend) -> str:
    try:
        backend.get_password(SERVICE_NAME, "doctor-probe")
    except keyring.errors.NoKeyringError:
        return no_keyring_message(backend_path(backend))
    except Exception as exc:  # any backend failure is reported, not raised, by the doctor
        return f"the keyring did not answer ({type(exc).__name__}: {exc})"
    return ""

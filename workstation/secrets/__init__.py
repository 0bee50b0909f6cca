"""Exchange API keys: the OS keyring first; environment variables or a 0600 file on servers.

Only composition roots (ui, api, cli) read secrets.
"""

from workstation.secrets.backends import BackendDescription, describe_backend
from workstation.secrets.keystore import KeyStore
from workstation.secrets.model import (
    CREDENTIALS_FILE_ENV,
    SERVICE_NAME,
    InvalidCredentialsError,
    NoKeyringAvailableError,
    StoredKey,
    UnsafeBackendError,
    env_var_names,
)

__all__ = [
    "CREDENTIALS_FILE_ENV",
    "SERVICE_NAME",
    "BackendDescription",
    "InvalidCredentialsError",
    "KeyStore",
    "NoKeyringAvailableError",
    "StoredKey",
    "UnsafeBackendError",
    "describe_backend",
    "env_var_names",
]

"""The Vault adapter (hvac): authentication, a self-renewing session, and a KV version 2 store with check-and-set.

Everything hvac raises reaches callers as a typed :class:`VaultError`; no message, repr or log event holds a token
or a secret value.
"""

from rotator.vault.auth import AppRoleAuth, AuthMethod, KubernetesAuth, LoginResult, TokenAuth
from rotator.vault.errors import (
    CasConflictError,
    VaultAuthError,
    VaultConfigError,
    VaultCredentialFileError,
    VaultError,
    VaultNotFoundError,
    VaultPermissionError,
    VaultRequestError,
    VaultSealedError,
    VaultServerError,
    VaultUnavailableError,
)
from rotator.vault.kv import KvStore
from rotator.vault.session import VaultHealth, VaultSession

__all__ = [
    "AppRoleAuth",
    "AuthMethod",
    "CasConflictError",
    "KubernetesAuth",
    "KvStore",
    "LoginResult",
    "TokenAuth",
    "VaultAuthError",
    "VaultConfigError",
    "VaultCredentialFileError",
    "VaultError",
    "VaultHealth",
    "VaultNotFoundError",
    "VaultPermissionError",
    "VaultRequestError",
    "VaultSealedError",
    "VaultServerError",
    "VaultSession",
    "VaultUnavailableError",
]

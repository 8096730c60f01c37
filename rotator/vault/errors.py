"""Typed errors for Vault failures, so callers never parse strings (``translate`` maps hvac's exceptions to them).

A message names the operation and the Vault path (``permission denied: write secret/data/langsmith/x``) and the
server's own explanation, cleaned up and truncated. It never holds a token or a secret value: Vault's error bodies
carry none, request bodies never reach a message, and anything shaped like a token is masked all the same.
"""

from __future__ import annotations

from rotator.observability import redact_text
from rotator.ports import StoreError, WriteConflict


class VaultError(StoreError):
    """Any failed Vault call. ``status`` is None when no HTTP response arrived. Whether a failed write was
    applied is unknown unless the class says otherwise: an answer that a request was refused says it was not."""

    def __init__(
        self, message: str, *, operation: str | None = None, path: str | None = None, status: int | None = None
    ) -> None:
        message = redact_text(message)
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.path = path
        self.status = status

    def __str__(self) -> str:
        return self.message


class VaultUnavailableError(VaultError):
    """No usable answer: connection refused or timed out, standby node, rate limited, bad gateway."""

    transient = True


class VaultSealedError(VaultUnavailableError):
    """Vault answered 503: it is sealed and must be unsealed by an operator."""

    write_applied = False


class VaultPermissionError(VaultError):
    """403 on a data path: the token is valid but its policies do not allow the operation on the path."""

    write_applied = False


class VaultAuthError(VaultError):
    """Login failed, or the token is invalid, expired or revoked."""

    write_applied = False


class VaultCredentialFileError(VaultAuthError):
    """A credential file (a token, a secret_id, a service-account JWT) cannot be read: missing or not allowed.

    The file is read at every login, so this is what the host does now (a Vault Agent sink not yet written, a
    mount gone, permissions), not a mistake in the config."""


class VaultNotFoundError(VaultError):
    """404 where something had to exist (a missing mount, auth method or route)."""

    write_applied = False


class CasConflictError(VaultError, WriteConflict):
    """A check-and-set write lost: someone wrote the secret since the version the caller read."""


class VaultConfigError(VaultError):
    """Vault is not set up as the rotator needs: a KV v1 or missing mount, a TLS problem, a bad address."""

    write_applied = False


class VaultRequestError(VaultError):
    """Vault rejected the request (400) for another reason than check-and-set."""

    write_applied = False


class VaultServerError(VaultError):
    """Vault failed internally (500, 501 not initialized, or an unexpected status)."""

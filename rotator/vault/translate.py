"""hvac's exceptions and transport failures, translated into the typed errors of ``rotator.vault.errors``.

A message names the operation and the Vault path and the server's own explanation, cleaned up and truncated;
it never holds a token or a secret value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import hvac.exceptions
import requests

from rotator.observability import safe_text
from rotator.vault.errors import (
    CasConflictError,
    VaultAuthError,
    VaultConfigError,
    VaultError,
    VaultNotFoundError,
    VaultPermissionError,
    VaultRequestError,
    VaultSealedError,
    VaultServerError,
    VaultUnavailableError,
)

_CAS_MISMATCH = "check-and-set parameter did not match the current version"

_NEEDS = {
    "read": "read",
    "write": "create/update",
    "list": "list",
    "delete": "delete",
    "read metadata": "read",
    "write metadata": "create/update",
    "delete metadata": "delete",
    "renew token": "update (default policy)",
    "look up token": "read (default policy)",
}


def target(operation: str, path: str) -> str:
    """``write secret/data/x``: how messages name a call."""
    return f"{operation} {path}".strip()


def error_from_hvac(error: hvac.exceptions.VaultError, *, operation: str, path: str) -> VaultError:
    """The typed error for one of hvac's exceptions raised by ``operation`` on ``path``."""
    kind, message, status = _classify(error, target(operation, path), path, operation)
    return kind(message, operation=operation, path=path, status=status)


_BY_TYPE: list[tuple[type[hvac.exceptions.VaultError], type[VaultError], str, int | None]] = [
    (hvac.exceptions.Unauthorized, VaultAuthError, "not authenticated", 401),
    (hvac.exceptions.RateLimitExceeded, VaultUnavailableError, "rate limited by Vault", 429),
    (hvac.exceptions.BadGateway, VaultUnavailableError, "bad gateway in front of Vault", 502),
    (hvac.exceptions.InvalidPath, VaultNotFoundError, "not found", 404),
    (hvac.exceptions.VaultNotInitialized, VaultServerError, "Vault is not initialized", 501),
    (hvac.exceptions.InternalServerError, VaultServerError, "Vault error (HTTP 500)", 500),
]


def _classify(
    error: hvac.exceptions.VaultError, what: str, path: str, operation: str
) -> tuple[type[VaultError], str, int | None]:
    reason = explanation(error)
    if isinstance(error, hvac.exceptions.Forbidden):
        needs = _NEEDS.get(operation)
        hint = f" (the token's policy needs {needs!r} on {path})" if needs and path else ""
        return VaultPermissionError, f"permission denied: {what}{hint}", 403
    if isinstance(error, hvac.exceptions.VaultDown):
        if "sealed" in reason.lower():
            return VaultSealedError, f"Vault is sealed: {what} (an operator must unseal it)", 503
        return VaultUnavailableError, _join(f"Vault unavailable (HTTP 503): {what}", reason), 503
    if isinstance(error, hvac.exceptions.InvalidRequest):
        if "check-and-set" in reason:
            return CasConflictError, f"{_CAS_MISMATCH}: {what}", 400
        return VaultRequestError, _join(f"invalid request: {what}", reason), 400
    kind, headline, status = next(
        ((kind, headline, status) for hvac_kind, kind, headline, status in _BY_TYPE if isinstance(error, hvac_kind)),
        (VaultServerError, "Vault error", None),
    )
    return kind, _join(f"{headline}: {what}", reason), status


def error_from_transport(error: requests.exceptions.RequestException, *, operation: str, path: str) -> VaultError:
    """The typed error for a request that got no HTTP answer."""
    kind, message = _classify_transport(error, target(operation, path))
    return kind(message, operation=operation, path=path)


def _classify_transport(error: requests.exceptions.RequestException, what: str) -> tuple[type[VaultError], str]:
    if isinstance(error, requests.exceptions.SSLError):
        return VaultConfigError, (
            f"TLS handshake with Vault failed: {what} (check the address, VAULT_CACERT or VAULT_SKIP_VERIFY)"
        )
    if isinstance(error, requests.exceptions.Timeout):
        return VaultUnavailableError, f"Vault did not answer in time: {what}"
    if isinstance(error, requests.exceptions.ConnectionError):
        return VaultUnavailableError, f"cannot connect to Vault: {what} ({_connection_cause(error)})"
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return VaultConfigError, f"invalid Vault address: {what}"
    return VaultUnavailableError, f"request to Vault failed: {what} ({type(error).__name__})"


@contextmanager
def vault_errors(operation: str, path: str) -> Iterator[None]:
    """Convert hvac and transport exceptions raised inside the block into typed :class:`VaultError` s."""
    try:
        yield
    except VaultError:
        raise
    except hvac.exceptions.VaultError as error:
        raise error_from_hvac(error, operation=operation, path=path) from error
    except requests.exceptions.RequestException as error:
        raise error_from_transport(error, operation=operation, path=path) from error
    except OSError as error:  # requests raises a bare OSError for a CA bundle it cannot find
        message = f"cannot use Vault's TLS settings: {target(operation, path)} ({error})"
        raise VaultConfigError(message, operation=operation, path=path) from error


def explanation(error: hvac.exceptions.VaultError) -> str:
    """Vault's own words from an hvac exception, one line, masked and truncated."""
    errors = error.errors
    if isinstance(errors, list) and errors:
        # Vault wraps multierrors as "1 error occurred:\n\t* permission denied\n\n".
        parts = [re.sub(r"^\d+ errors? occurred:\s*", "", str(item)).replace("* ", "") for item in errors]
        return safe_text("; ".join(parts), one_line=True)
    message = error.args[0] if error.args else None
    return safe_text(message, one_line=True) if isinstance(message, str) else ""


def _connection_cause(error: requests.exceptions.ConnectionError) -> str:
    text = str(error)
    for cause in ("Connection refused", "Name or service not known", "No route to host", "timed out"):
        if cause.lower() in text.lower():
            return cause.lower()
    return "connection failed"


def _join(headline: str, explanation: str) -> str:
    return f"{headline}: {explanation}" if explanation else headline

"""One authenticated connection to Vault that stays authenticated for the life of a long-running process.

The session logs in lazily. Before each use it checks the token: with less than a third of its TTL left it renews
the token (``renew-self``); a token that cannot be renewed (batch tokens, renewal refused, TTL capped by the
token's max TTL) is replaced by logging in again. A token with TTL 0 (root, dev) never expires and is never
renewed. A call that Vault refuses with 403 is checked once more: if the token itself turned invalid (revoked,
expired while the process slept), the session logs in again and retries the call once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import hvac
import requests
import structlog

from rotator.vault.auth import AuthMethod, HvacClient, LoginResult, login_result
from rotator.vault.errors import VaultError, VaultPermissionError, VaultUnavailableError
from rotator.vault.translate import vault_errors

log = structlog.get_logger(__name__)

T = TypeVar("T")

RENEW_FRACTION = 1 / 3
"""Renew (or log in again) when less than this fraction of the token's TTL remains."""


@dataclass(frozen=True, slots=True)
class VaultHealth:
    """Readiness: Vault answers, is initialized and unsealed, and our token works."""

    reachable: bool
    initialized: bool
    sealed: bool
    token_valid: bool
    detail: str = ""
    """Why it is not ok (an error message, never a secret); empty when ok."""

    @property
    def ok(self) -> bool:
        return self.reachable and self.initialized and not self.sealed and self.token_valid

    def __bool__(self) -> bool:
        return self.ok


@dataclass(slots=True)
class _Token:
    value: str
    ttl: int
    renewable: bool
    expires_at: float
    """On the session's clock; meaningless when ttl is 0."""


class VaultSession:
    def __init__(
        self,
        *,
        address: str,
        auth: AuthMethod,
        namespace: str | None = None,
        ca_cert: Path | str | None = None,
        skip_verify: bool = False,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address.rstrip("/")
        self.auth = auth
        self.namespace = namespace or None
        self._clock = clock
        self._lock = threading.RLock()
        self._token: _Token | None = None
        self.checked_mounts: set[str] = set()
        """Mounts already verified to be KV v2 (see :mod:`rotator.vault.kv`)."""
        if skip_verify:
            log.warning(
                "vault.tls_verification_disabled",
                address=self.address,
                detail="VAULT_SKIP_VERIFY is set: anyone on the network path can impersonate Vault and read secrets",
            )
        verify: bool | str = False if skip_verify else (str(ca_cert) if ca_cert else _environment_ca_bundle() or True)
        # token="" keeps hvac from picking up VAULT_TOKEN or ~/.vault-token behind our back.
        self._client: HvacClient = hvac.Client(
            url=self.address, token="", verify=verify, timeout=timeout, namespace=self.namespace
        )
        # requests reads the proxy and CA variables again on every call, a third of each call's CPU: read at start.
        http = self._client.adapter.session
        http.proxies = requests.utils.get_environ_proxies(self.address)
        http.trust_env = False

    def __repr__(self) -> str:
        return f"VaultSession(address={self.address!r}, auth={self.auth.description!r})"

    # ── the token ───────────────────────────────────────────────────────────────────────────────────────

    def client(self) -> HvacClient:
        """The hvac client, logged in, its token renewed or replaced if it was running out."""
        with self._lock:
            self._ensure_token()
            return self._client

    def invalidate(self) -> None:
        """Forget the token: the next use logs in again."""
        with self._lock:
            self._token = None
            self._client.token = ""

    def token_expires_in(self) -> float | None:
        """Seconds the current token has left on the session's clock; None if not logged in or never expiring."""
        with self._lock:
            if self._token is None or self._token.ttl == 0:
                return None
            return self._token.expires_at - self._clock()

    def _ensure_token(self) -> None:
        token = self._token
        if token is None:
            self._login("first use")
            return
        if token.ttl == 0:
            return
        now = self._clock()
        remaining = token.expires_at - now
        if remaining > token.ttl * RENEW_FRACTION:
            return
        if not token.renewable:
            self._login("token not renewable")
            return
        try:
            renewed = self._renew()
        except VaultUnavailableError:
            raise  # down or sealed: logging in would fail the same way
        except VaultError as error:
            log.warning("vault.token_renewal_failed", auth=self.auth.description, error=str(error))
            self._login("renewal failed")
            return
        if renewed.ttl_seconds <= token.ttl * RENEW_FRACTION:
            # The token hit its max TTL: renewing again would not help.
            self._login("token at its max TTL")
            return
        token.expires_at = now + renewed.ttl_seconds
        token.renewable = renewed.renewable
        log.info("vault.token_renewed", ttl_seconds=renewed.ttl_seconds, renewable=renewed.renewable)

    def _renew(self) -> LoginResult:
        with vault_errors("renew token", "auth/token/renew-self"):
            response = self._client.auth.token.renew_self()
        return login_result(response, "auth/token/renew-self")

    def _login(self, reason: str) -> None:
        self._token = None
        self._client.token = ""
        result = self.auth.login(self._client)
        self._client.token = result.token
        self._token = _Token(result.token, result.ttl_seconds, result.renewable, self._clock() + result.ttl_seconds)
        log.info(
            "vault.login",
            auth=self.auth.description,
            reason=reason,
            ttl_seconds=result.ttl_seconds,
            renewable=result.renewable,
        )

    # ── calls ───────────────────────────────────────────────────────────────────────────────────────────

    def run(self, operation: str, path: str, call: Callable[[HvacClient], T]) -> T:
        """``call(client)`` with errors mapped; on 403 from a token that turned invalid, log in again and retry once."""
        client = self.client()
        try:
            with vault_errors(operation, path):
                return call(client)
        except VaultPermissionError:
            if self._token_is_valid(client):
                raise
        log.info("vault.token_rejected", auth=self.auth.description, operation=operation, path=path)
        with self._lock:
            self._login("token rejected")
            client = self._client
        with vault_errors(operation, path):
            return call(client)

    def _token_is_valid(self, client: HvacClient) -> bool:
        try:
            with vault_errors("look up token", "auth/token/lookup-self"):
                client.auth.token.lookup_self()
        except VaultPermissionError:
            return False
        return True

    def health(self) -> VaultHealth:
        """Initialized, unsealed, and a working token; never raises."""
        try:
            with vault_errors("read", "sys/health"):
                response = self._client.adapter.get("/v1/sys/health", raise_exception=False)
        except VaultError as error:
            return VaultHealth(reachable=False, initialized=False, sealed=False, token_valid=False, detail=str(error))
        body = _health_body(response)
        if "initialized" not in body:
            status = getattr(response, "status_code", 200)
            detail = f"unexpected answer from {self.address}/v1/sys/health (HTTP {status}): is this Vault?"
            return VaultHealth(True, initialized=False, sealed=False, token_valid=False, detail=detail)
        initialized = body.get("initialized") is True
        sealed = body.get("sealed") is not False
        if not initialized or sealed:
            detail = "Vault is not initialized" if not initialized else "Vault is sealed"
            return VaultHealth(True, initialized, sealed, token_valid=False, detail=detail)
        try:
            self.run("look up token", "auth/token/lookup-self", lambda c: c.auth.token.lookup_self())
        except VaultError as error:
            return VaultHealth(True, True, False, token_valid=False, detail=str(error))
        return VaultHealth(True, True, False, token_valid=True)

    # ── lifecycle ───────────────────────────────────────────────────────────────────────────────────────

    def close(self) -> None:
        with self._lock:
            self._token = None
            self._client.token = ""
            self._client.adapter.close()

    def __enter__(self) -> VaultSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def _health_body(response: Any) -> dict[str, Any]:
    if isinstance(response, dict):
        return response
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _environment_ca_bundle() -> str | None:
    """The CA bundle requests would take from the environment (its own variables, then curl's)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None

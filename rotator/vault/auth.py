"""Ways to get a Vault token: a token (given or read from a file), AppRole, Kubernetes.

Each method is a small class behind one Protocol, :class:`AuthMethod`. ``login`` gets a fresh token from Vault;
the session calls it lazily and again whenever the token can no longer be renewed. Credentials read from files
are read at every login, so a rotated file (a Vault Agent sink, a projected service-account token) is picked up.
No credential ever appears in a repr, a log event or an error message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import hvac.exceptions

from rotator.vault.errors import (
    VaultAuthError,
    VaultCredentialFileError,
    VaultNotFoundError,
    VaultPermissionError,
    VaultRequestError,
    VaultServerError,
)
from rotator.vault.translate import explanation, vault_errors

HvacClient = Any
"""An ``hvac.Client`` (hvac has no type hints): only this package touches it."""

DEFAULT_KUBERNETES_JWT = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str = field(repr=False)
    ttl_seconds: int
    """Seconds the token lives from now; 0 means it never expires (root and dev tokens)."""
    renewable: bool


class AuthMethod(Protocol):
    @property
    def description(self) -> str:
        """What logs and errors call this method, e.g. ``approle at auth/approle``; never a credential."""
        ...

    def login(self, client: HvacClient) -> LoginResult:
        """A fresh token. May change ``client.token``; raises :class:`VaultAuthError` when Vault says no."""
        ...


class TokenAuth:
    """A token given as is, or read from ``token_file`` at each login (exactly one of the two)."""

    def __init__(self, token: str | None = None, *, token_file: Path | str | None = None) -> None:
        self._token = _source("token", token, token_file)

    @property
    def description(self) -> str:
        return f"token from {self._token}" if isinstance(self._token, Path) else "token"

    def __repr__(self) -> str:
        return f"TokenAuth({self.description})"

    def login(self, client: HvacClient) -> LoginResult:
        token = _credential(self._token, "token")
        client.token = token
        try:
            with vault_errors("look up token", "auth/token/lookup-self"):
                info = client.auth.token.lookup_self()["data"]
        except VaultPermissionError:
            raise VaultAuthError(
                f"the Vault {self.description} is invalid, expired or revoked "
                "(or lacks the default policy, which allows auth/token/lookup-self)",
                operation="login",
                path="auth/token/lookup-self",
                status=403,
            ) from None
        return LoginResult(token, _int(info.get("ttl")), bool(info.get("renewable")))


class AppRoleAuth:
    """AppRole login with a role_id and a secret_id, each given as is or read from a file."""

    def __init__(
        self,
        role_id: str | None = None,
        secret_id: str | None = None,
        *,
        role_id_file: Path | str | None = None,
        secret_id_file: Path | str | None = None,
        mount: str = "approle",
    ) -> None:
        self._role_id = _source("role_id", role_id, role_id_file)
        self._secret_id = (
            None if secret_id is None and secret_id_file is None else _source("secret_id", secret_id, secret_id_file)
        )
        """None for a role created with bind_secret_id=false."""
        self.mount = mount.strip("/")

    @property
    def description(self) -> str:
        return f"approle at auth/{self.mount}"

    def __repr__(self) -> str:
        return f"AppRoleAuth(mount={self.mount!r})"

    def login(self, client: HvacClient) -> LoginResult:
        role_id = _credential(self._role_id, "role_id")
        secret_id = None if self._secret_id is None else _credential(self._secret_id, "secret_id")
        path = f"auth/{self.mount}/login"
        with _login_errors(self.description, path):
            response = client.auth.approle.login(
                role_id=role_id, secret_id=secret_id, mount_point=self.mount, use_token=False
            )
        return login_result(response, path)


class KubernetesAuth:
    """Kubernetes login with the pod's service-account JWT, read from ``jwt_file`` at each login."""

    def __init__(self, role: str, *, jwt_file: Path | str = DEFAULT_KUBERNETES_JWT, mount: str = "kubernetes") -> None:
        if not role:
            raise ValueError("role: give the Vault role bound to this service account")
        self.role = role
        self.jwt_file = Path(jwt_file)
        self.mount = mount.strip("/")

    @property
    def description(self) -> str:
        return f"kubernetes role {self.role!r} at auth/{self.mount}"

    def __repr__(self) -> str:
        return f"KubernetesAuth(role={self.role!r}, jwt_file={str(self.jwt_file)!r}, mount={self.mount!r})"

    def login(self, client: HvacClient) -> LoginResult:
        jwt = read_credential(self.jwt_file, "service-account JWT")
        path = f"auth/{self.mount}/login"
        with _login_errors(self.description, path):
            response = client.auth.kubernetes.login(self.role, jwt, use_token=False, mount_point=self.mount)
        return login_result(response, path)


def read_credential(path: Path, what: str) -> str:
    """The stripped contents of a credential file; a clear :class:`VaultAuthError` if it is unreadable or empty."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        message = f"cannot read the Vault {what} file {path}: {reason}"
        raise VaultCredentialFileError(message, operation="login") from None
    if not value:
        raise VaultAuthError(f"the Vault {what} file {path} is empty", operation="login")
    return value


def login_result(response: object, path: str) -> LoginResult:
    """The token, TTL and renewability from a login response's ``auth`` block."""
    auth = response.get("auth") if isinstance(response, dict) else None
    token = auth.get("client_token") if isinstance(auth, dict) else None
    if not isinstance(auth, dict) or not isinstance(token, str) or not token:
        raise VaultAuthError(f"login at {path} returned no token", operation="login", path=path)
    return LoginResult(token, _int(auth.get("lease_duration")), bool(auth.get("renewable")))


@contextmanager
def _login_errors(description: str, path: str) -> Iterator[None]:
    """Vault's refusals during login (400 bad credentials, 403, 404 no such mount, 500) as VaultAuthError."""
    try:
        with vault_errors("login", path):
            yield
    except (VaultRequestError, VaultPermissionError, VaultNotFoundError, VaultServerError) as mapped:
        cause = mapped.__cause__
        reason = explanation(cause) if isinstance(cause, hvac.exceptions.VaultError) else ""
        mount = path.removesuffix("/login")
        hint = (
            f" (check the credentials, and that an auth method is enabled at {mount})"
            if mapped.status in {403, 404}
            else ""
        )
        raise VaultAuthError(
            f"Vault login failed ({description}): {reason or 'HTTP ' + str(mapped.status)}{hint}",
            operation="login",
            path=path,
            status=mapped.status,
        ) from mapped


def _source(name: str, value: str | None, file: Path | str | None) -> str | Path:
    """A credential given as is (a str) or the file to read it from (a Path); exactly one of the two."""
    if value is not None and file is None:
        if not value.strip():
            raise ValueError(f"{name} is empty")
        return value
    if file is not None and value is None:
        return Path(file)
    raise ValueError(f"give exactly one of {name} or {name}_file")


def _credential(source: str | Path, what: str) -> str:
    return source if isinstance(source, str) else read_credential(source, what)


def _int(value: object) -> int:
    if not isinstance(value, int | float | str):
        return 0
    try:
        return max(0, int(value))
    except ValueError:
        return 0

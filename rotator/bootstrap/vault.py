"""A Vault session from the config: the auth method, and where each of its credentials comes from."""

from __future__ import annotations

from rotator.config import (
    AppRoleAuthSettings,
    ConfigError,
    KubernetesAuthSettings,
    SecretRef,
    TokenAuthSettings,
    VaultSettings,
)
from rotator.secrets import SecretResolver
from rotator.vault.auth import AppRoleAuth, AuthMethod, KubernetesAuth, TokenAuth
from rotator.vault.session import VaultSession


def connect_vault(settings: VaultSettings, secrets: SecretResolver) -> VaultSession:
    """No network yet: the session logs in at first use."""
    return VaultSession(
        address=settings.address,
        auth=_auth(settings, secrets),
        namespace=settings.namespace,
        ca_cert=settings.ca_cert,
        skip_verify=settings.skip_verify,
        timeout=settings.timeout.total_seconds(),
    )


def _auth(settings: VaultSettings, secrets: SecretResolver) -> AuthMethod:
    auth = settings.auth
    if isinstance(auth, TokenAuthSettings):
        # A token file is read at every login, so a Vault Agent sink that rewrites it keeps working.
        if auth.token.file is not None:
            return TokenAuth(token_file=auth.token.file)
        return TokenAuth(_plain(auth.token, secrets, "vault.auth.token"))
    if isinstance(auth, AppRoleAuthSettings):
        # Files are passed as files, read at each login, so a rotated secret_id file is picked up.
        return AppRoleAuth(
            None if auth.role_id.file else _plain(auth.role_id, secrets, "vault.auth.role_id"),
            None if auth.secret_id.file else _plain(auth.secret_id, secrets, "vault.auth.secret_id"),
            role_id_file=auth.role_id.file,
            secret_id_file=auth.secret_id.file,
            mount=auth.mount,
        )
    if isinstance(auth, KubernetesAuthSettings):
        return KubernetesAuth(auth.role, jwt_file=auth.jwt_file, mount=auth.mount)
    raise ConfigError([f"vault.auth.method: unsupported {auth!r}"])


def _plain(ref: SecretRef, secrets: SecretResolver, field: str) -> str:
    if ref.vault is not None:
        raise ConfigError([f"{field}: a Vault credential cannot come from Vault itself"])
    return secrets.read(ref, field)

"""Vault: where it is, how the rotator logs in, where its KV v2 secrets live, and the lease one process holds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from rotator.config.fields import Duration, PositiveDuration, StableName, StrictModel, VaultPath
from rotator.config.secret_refs import SecretRef


class TokenAuthSettings(StrictModel):
    method: Literal["token"] = "token"
    token: SecretRef = SecretRef(env="VAULT_TOKEN")


class AppRoleAuthSettings(StrictModel):
    method: Literal["approle"]
    role_id: SecretRef
    secret_id: SecretRef
    mount: VaultPath = "approle"


class KubernetesAuthSettings(StrictModel):
    method: Literal["kubernetes"]
    role: str = Field(min_length=1)
    jwt_file: Path = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
    mount: VaultPath = "kubernetes"


VaultAuthSettings = Annotated[
    TokenAuthSettings | AppRoleAuthSettings | KubernetesAuthSettings, Field(discriminator="method")
]


DEFAULT_KV_MOUNT = "secret"


class VaultSettings(StrictModel):
    """Defaults come from VAULT_ADDR, VAULT_NAMESPACE, VAULT_CACERT and VAULT_SKIP_VERIFY."""

    address: str
    namespace: str | None = None
    ca_cert: Path | None = None
    skip_verify: bool = False
    timeout: PositiveDuration = timedelta(seconds=10)
    auth: VaultAuthSettings = TokenAuthSettings()
    kv_mount: VaultPath = DEFAULT_KV_MOUNT
    state_prefix: VaultPath = Field(default="langsmith-rotator", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
    """Where the journal lives, under ``kv_mount``: ``<state_prefix>/secrets/<name>``."""

    @field_validator("address")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL, e.g. https://vault.example.com:8200")
        return value.rstrip("/")


class LeaseSettings(StrictModel):
    """The lock that lets one process at a time rotate; deployments sharding orgs give each its own name."""

    name: StableName = "default"
    ttl: Duration = timedelta(seconds=60)

    @field_validator("ttl")
    @classmethod
    def _long_enough(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=15):
            raise ValueError("must be at least 15s")
        return value

"""The organizations to watch: where each one's API is, which keys to watch, and how to call it."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from enum import StrEnum
from typing import Self
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import Field, ValidationError, field_validator, model_validator

from rotator.config.errors import ConfigProblem, invalid
from rotator.config.fields import Duration, PositiveDuration, StableName, StrictModel
from rotator.config.secret_refs import SecretRef
from rotator.domain.policy import ExpiryPolicy
from rotator.langsmith.endpoints import DEFAULT_ENDPOINT, normalize_endpoint


class PolicySettings(StrictModel):
    warn_before: Duration = timedelta(days=21)
    critical_before: Duration = timedelta(days=7)
    max_age: PositiveDuration = timedelta(days=90)

    @model_validator(mode="after")
    def _critical_within_warning(self) -> Self:
        if self.critical_before > self.warn_before:
            raise invalid(PolicySettings, ConfigProblem(("critical_before",), "must not be longer than warn_before"))
        return self

    def to_policy(self) -> ExpiryPolicy:
        return ExpiryPolicy(self.warn_before, self.critical_before, self.max_age)


class HttpSettings(StrictModel):
    timeout: PositiveDuration = timedelta(seconds=10)
    max_attempts: int = Field(default=5, ge=1, le=20)
    max_retry_time: Duration = timedelta(seconds=60)
    """0 turns retries off: the first failure is final. Waiting for the request budget does not count."""
    requests_per_minute: int = Field(default=1800, ge=1, le=100_000)
    """The pace each admin key keeps, shared by every request made with it (inventory, rotations and their
    verification): under LangSmith's 2000 a minute per key, so the rotator waits instead of being refused."""


class Watched(StrEnum):
    SERVICE_KEYS = "service_keys"
    PERSONAL_ACCESS_TOKENS = "personal_access_tokens"


class OrgSettings(StrictModel):
    name: StableName
    endpoint: str = DEFAULT_ENDPOINT
    organization_id: UUID | None = None
    workspace_id: UUID | None = None
    fallback_workspace_id: UUID | None = None
    """With neither id set the organization is discovered from the key; if the key cannot list it (a
    workspace-scoped key), this workspace is watched instead (default: the key's own)."""
    api_key: SecretRef = SecretRef(env="LANGSMITH_API_KEY")
    """The org's admin key: from the environment, a file, or a Vault KV v2 field."""
    allow_insecure_http: bool = False
    policy: PolicySettings | None = None
    """Overrides the top-level policy for this org."""
    watch: frozenset[Watched] = frozenset(Watched)
    """LangSmith lists a caller only its own PATs: an entry holding a person's PAT can watch just those."""

    @field_validator("endpoint")
    @classmethod
    def _normalized_endpoint(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL, e.g. https://eu.api.smith.langchain.com")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query string or fragment")
        return normalize_endpoint(value.strip())

    @model_validator(mode="after")
    def _safe_and_addressable(self) -> Self:
        host = urlsplit(self.endpoint).hostname or ""
        if urlsplit(self.endpoint).scheme == "http" and not _is_loopback(host) and not self.allow_insecure_http:
            raise _problem(
                "endpoint",
                f"plain http:// to {host} would send the API key unencrypted; "
                "use https:// or set allow_insecure_http: true",
            )
        if self.fallback_workspace_id is not None and not self.discovered:
            raise _problem("fallback_workspace_id", "used only when neither organization_id nor workspace_id is set")
        if not self.watch:
            raise _problem("watch", "list at least one of service_keys, personal_access_tokens")
        workspace_only = self.organization_id is None and self.workspace_id is not None
        if workspace_only and "watch" in self.model_fields_set and Watched.SERVICE_KEYS not in self.watch:
            raise _problem("watch", "without organization_id only the workspace's service keys can be listed")
        return self

    @property
    def discovered(self) -> bool:
        """Neither id is set: the rotator finds out from the key which organization (or workspace) it is."""
        return self.organization_id is None and self.workspace_id is None


def _problem(field: str, message: str) -> ValidationError:
    return invalid(OrgSettings, ConfigProblem((field,), message))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

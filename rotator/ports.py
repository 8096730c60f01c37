"""The seams between what the rotator decides and where it keeps things.

The saga and the cycle speak to three ports, never to a Vault or an HTTP class:

- a :class:`SecretTarget`, where one managed secret's key is stored for its consumers (a Vault KV v2 path);
- a :class:`StateStore`, where the rotator keeps its own documents (journal, lease, alert delivery state);
- a :class:`KeyAdmin`, the LangSmith calls that list, create and delete service keys.

Whether a failed write was applied is a property of the error (:attr:`StoreError.write_applied`), so the saga
knows whether a key it just made may be deleted at once without a table of one backend's error classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, Self, TypeAlias

from rotator.domain.keys import ApiKey, CreatedKey, OrgInfo, Role, Workspace

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None


class StoreError(Exception):
    """A secret target or state store failed. Its message names the operation and the place, never a value."""

    write_applied: bool | None = None
    """For a failed write: False when the store certainly did not apply it (refused, conflict), None when it
    cannot be known (the answer was lost)."""

    transient = False
    """True when the same call may succeed later (the store is down, sealed, rate limited)."""


class WriteConflict(StoreError):
    """A check-and-set write lost: someone else wrote since the version it named. Nothing was written."""

    write_applied = False


@dataclass(frozen=True, slots=True)
class SecretVersion:
    """One readable version of a secret. Its repr names the data's keys, never its values."""

    data: dict[str, Any] = field(repr=False)
    version: int
    custom_metadata: dict[str, str]
    created_at: datetime | None = None

    def __repr__(self) -> str:
        return (
            f"SecretVersion(version={self.version}, keys={sorted(self.data)}, custom_metadata={self.custom_metadata})"
        )


@dataclass(frozen=True, slots=True)
class VersionInfo:
    created_at: datetime | None
    deleted_at: datetime | None
    destroyed: bool

    @property
    def readable(self) -> bool:
        return self.deleted_at is None and not self.destroyed


@dataclass(frozen=True, slots=True)
class SecretMetadata:
    current_version: int
    oldest_version: int
    max_versions: int
    """0 means the store's default."""
    custom_metadata: dict[str, str]
    versions: dict[int, VersionInfo]


class SecretTarget(Protocol):
    """One managed secret's place in a secret store: versioned reads, check-and-set writes, custom metadata."""

    @property
    def name(self) -> str:
        """Where it is, as an operator names it in messages (``secret/langsmith/prod``)."""

    def read(self) -> SecretVersion | None:
        """The latest readable version; None when there is none."""

    def write(self, data: Mapping[str, JsonValue], *, cas: int) -> int:
        """Write a new version if the latest is ``cas`` (0: none may exist); the new version. A lost
        check-and-set raises :class:`WriteConflict`; any other failure a :class:`StoreError`."""

    def metadata(self) -> SecretMetadata | None:
        """Versions and custom metadata; None when the secret was never written."""

    def set_custom_metadata(self, metadata: Mapping[str, str]) -> None:
        """Replace the secret's custom metadata (when and by what it was rotated)."""

    def write_refusal(self, *, exists: bool) -> str | None:
        """Why a write would be refused, asked before there is a key to clean up; None when it would be
        allowed, or when the store will not say (then the write itself tells)."""


class StateStore(Protocol):
    """The rotator's own documents, each read with its version and written with check-and-set."""

    def load(self, name: str) -> tuple[dict[str, Any] | None, int]:
        """The document and its version; (None, 0) for one never written."""

    def save(self, name: str, document: Mapping[str, JsonValue], *, version: int) -> int:
        """Write if nobody wrote since ``version``; the new version, or :class:`WriteConflict`."""


class KeyAdmin(Protocol):
    """The LangSmith calls the saga makes with an org's admin key (the HTTP client implements it)."""

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def org_info(self) -> OrgInfo: ...

    def current_workspace(self) -> Workspace: ...

    def list_org_service_keys(self) -> list[ApiKey]: ...

    def list_workspaces(self) -> list[Workspace]: ...

    def list_roles(self) -> list[Role]: ...

    def create_org_service_key(
        self,
        *,
        description: str,
        expires_at: datetime | None,
        workspace_ids: Sequence[str] | None,
        role_id: str | None = None,
        org_role_id: str | None = None,
    ) -> CreatedKey: ...

    def delete_org_service_key(self, key_id: str) -> ApiKey: ...

"""The records the sandbox stores: organizations, workspaces, roles, users and keys."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

KeyKind = Literal["service_key", "personal_access_token"]
AccessScope = Literal["organization", "workspace"]

DEFAULT_DESCRIPTION = "Default API key"


@dataclass(frozen=True)
class Organization:
    id: str
    display_name: str
    max_api_key_expiry_days: int | None = None
    max_pat_expiry_days: int | None = None
    max_service_key_expiry_days: int | None = None
    pat_creation_disabled: bool = False


@dataclass(frozen=True)
class Workspace:
    id: str
    organization_id: str
    display_name: str
    created_at: datetime
    tenant_handle: str | None = None


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    display_name: str
    access_scope: AccessScope
    permissions: tuple[str, ...]
    description: str = ""
    organization_id: str | None = None  # None for built-in roles, shared by every organization


@dataclass(frozen=True)
class User:
    id: str
    organization_id: str
    email: str
    org_role_id: str
    workspace_roles: dict[str, str] = field(default_factory=dict)  # workspace id -> workspace role id


@dataclass
class KeyRecord:
    """A service key or PAT. Only a hash of the secret is kept, so nothing here can leak it."""

    id: str
    kind: KeyKind
    organization_id: str
    secret_sha256: str
    short_key: str
    description: str
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    deleted_at: datetime | None = None
    read_only: bool = False
    workspace_ids: tuple[str, ...] = ()  # service keys: empty means org-wide
    role_id: str | None = None
    org_role_id: str | None = None
    owner_user_id: str | None = None  # PATs only
    default_workspace_id: str | None = None  # PATs only
    requests: Counter[str] = field(default_factory=Counter)  # authenticated requests per route

    @property
    def is_service_key(self) -> bool:
        return self.kind == "service_key"

    @property
    def access_scope(self) -> AccessScope | None:
        if not self.is_service_key:
            return None
        return "workspace" if self.workspace_ids else "organization"

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class IssuedKey:
    """A key just minted: its id and the secret, which exists nowhere else afterwards."""

    id: str
    secret: str

    def __repr__(self) -> str:
        return f"IssuedKey(id={self.id!r}, secret='***')"

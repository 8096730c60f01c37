"""What the rotator knows about a LangSmith key: metadata only, never the secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class KeyKind(StrEnum):
    SERVICE_KEY = "service_key"
    PERSONAL_ACCESS_TOKEN = "personal_access_token"  # noqa: S105 - an enum of key kinds (LangSmith's name), no secret


class AccessScope(StrEnum):
    ORGANIZATION = "organization"
    WORKSPACE = "workspace"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One key as LangSmith lists it (APIKeyGetResponse), tagged with its kind.

    All datetimes are timezone-aware UTC. ``expires_at`` None means the key never expires.
    """

    id: str
    short_key: str
    description: str
    kind: KeyKind
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    access_scope: AccessScope | None = None
    workspace_names: tuple[str, ...] = ()
    default_workspace_name: str | None = None
    role_id: str | None = None
    org_role_id: str | None = None
    unread: frozenset[str] = frozenset()
    """Fields LangSmith left out of the listing, or sent in a form not understood (an older or self-hosted
    LangSmith may not know ``role_id``, ``org_role_id`` or ``access_scope``): their values here are not LangSmith's
    answer, so nothing may be decided from them."""


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """The response to a create call: the listed metadata plus the secret, which LangSmith shows only once."""

    key: ApiKey
    secret: str

    def __repr__(self) -> str:
        return f"CreatedKey(key={self.key!r}, secret='***')"


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    display_name: str
    organization_id: str | None = None
    is_deleted: bool = False


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    name: str
    display_name: str
    access_scope: AccessScope | None = None


@dataclass(frozen=True, slots=True)
class OrgInfo:
    id: str
    display_name: str
    max_service_key_expiry_days: int | None = None
    max_pat_expiry_days: int | None = None
    max_api_key_expiry_days: int | None = None


MIN_SECRET_PREFIX = 10
"""LangSmith shows a key's first characters as its ``short_key``; this many tell keys apart."""


def is_secret_of(secret: str, key: ApiKey) -> bool:
    """Whether ``secret`` is ``key``'s: it begins with the key's short_key, when that is long enough to tell."""
    prefix = key.short_key.rstrip(".")
    return len(prefix) >= MIN_SECRET_PREFIX and secret.startswith(prefix)

"""The sandbox's whole world behind one lock: the records, the clock, the faults and the request counters."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from langsmith_sandbox import keygen
from langsmith_sandbox.clock import SandboxClock, require_aware
from langsmith_sandbox.faults import FaultInjector
from langsmith_sandbox.model import (
    DEFAULT_DESCRIPTION,
    AccessScope,
    IssuedKey,
    KeyKind,
    KeyRecord,
    Organization,
    Role,
    User,
    Workspace,
)
from langsmith_sandbox.rate_limit import RateLimiter
from langsmith_sandbox.roles import BUILTIN_BY_NAME, BUILTIN_ROLES, CUSTOM, ORG_USER, WORKSPACE_ADMIN
from langsmith_sandbox.stats import RequestStats


def _new_id(explicit: str | None) -> str:
    return str(uuid.UUID(explicit)) if explicit is not None else str(uuid.uuid4())


class SandboxState:
    """Records plus a builder API for seeding them.

    Builders raise ValueError for inconsistent input (unknown org, wrong-scope role, ...); the HTTP API
    validates requests first and turns its findings into LangSmith-style errors. Hold ``lock`` across
    a read-modify-write sequence; every method takes it too (it is re-entrant).
    """

    def __init__(self, clock: SandboxClock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or SandboxClock()
        self.faults = FaultInjector()
        self.stats = RequestStats()
        self.rate_limit = RateLimiter()
        """Off until configured: a per-API-key sliding-window limit answering 429 with Retry-After."""
        self.discovers_org = True
        """Whether GET /orgs/current/info without X-Organization-Id answers with the key's own org, as
        LangSmith's current API does; False plays an older or self-hosted server that requires the header."""
        self._orgs: dict[str, Organization] = {}
        self._workspaces: dict[str, Workspace] = {}
        self._roles: dict[str, Role] = {role.id: role for role in BUILTIN_ROLES}
        self._users: dict[str, User] = {}
        self._keys: dict[str, KeyRecord] = {}
        self._key_ids_by_fingerprint: dict[str, str] = {}
        self._keys_by_org: dict[str, list[KeyRecord]] = {}

    # ---- builders -------------------------------------------------------------------------------

    def add_org(
        self,
        display_name: str,
        *,
        id: str | None = None,
        max_api_key_expiry_days: int | None = None,
        max_pat_expiry_days: int | None = None,
        max_service_key_expiry_days: int | None = None,
        pat_creation_disabled: bool = False,
    ) -> Organization:
        org = Organization(
            _new_id(id),
            display_name,
            max_api_key_expiry_days=max_api_key_expiry_days,
            max_pat_expiry_days=max_pat_expiry_days,
            max_service_key_expiry_days=max_service_key_expiry_days,
            pat_creation_disabled=pat_creation_disabled,
        )
        with self.lock:
            if org.id in self._orgs:
                raise ValueError(f"organization {org.id} already exists")
            self._orgs[org.id] = org
        return org

    def add_workspace(
        self,
        org_id: str,
        display_name: str,
        *,
        id: str | None = None,
        created_at: datetime | None = None,
        tenant_handle: str | None = None,
    ) -> Workspace:
        """Add a workspace; display names may repeat, as they can in LangSmith."""
        with self.lock:
            self._require_org(org_id)
            workspace = Workspace(
                _new_id(id),
                org_id,
                display_name,
                self._at(created_at),
                tenant_handle or re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-"),
            )
            if workspace.id in self._workspaces:
                raise ValueError(f"workspace {workspace.id} already exists")
            self._workspaces[workspace.id] = workspace
            return workspace

    def add_role(
        self,
        org_id: str,
        display_name: str,
        *,
        access_scope: AccessScope,
        permissions: Iterable[str],
        description: str = "",
        id: str | None = None,
    ) -> Role:
        """Add a custom role of one organization (LangSmith names every custom role ``CUSTOM``)."""
        with self.lock:
            self._require_org(org_id)
            role = Role(_new_id(id), CUSTOM, display_name, access_scope, tuple(permissions), description, org_id)
            self._roles[role.id] = role
            return role

    def add_user(
        self,
        org_id: str,
        email: str,
        *,
        org_role_id: str | None = None,
        workspace_roles: Mapping[str, str] | None = None,
        id: str | None = None,
    ) -> User:
        """Add an org member: ``org_role_id`` defaults to Organization User; ``workspace_roles`` maps
        workspace id to workspace role id."""
        with self.lock:
            self._require_org(org_id)
            org_role = self._role_in(org_id, org_role_id or BUILTIN_BY_NAME[ORG_USER].id, "organization")
            for workspace_id, role_id in (workspace_roles or {}).items():
                self._workspace_in(org_id, workspace_id)
                self._role_in(org_id, role_id, "workspace")
            user = User(_new_id(id), org_id, email, org_role.id, dict(workspace_roles or {}))
            self._users[user.id] = user
            return user

    def add_service_key(
        self,
        org_id: str,
        *,
        workspace_ids: Iterable[str] = (),
        role_id: str | None = None,
        org_role_id: str | None = None,
        description: str = DEFAULT_DESCRIPTION,
        read_only: bool = False,
        created_at: datetime | None = None,
        expires_at: datetime | None = None,
        last_used_at: datetime | None = None,
        secret: str | None = None,
    ) -> IssuedKey:
        """Add a service key: org-wide when ``workspace_ids`` is empty, else scoped to those workspaces.

        Org-wide keys get ``org_role_id`` (default Organization User) and an optional workspace role that
        applies in every workspace. Workspace-scoped keys get ``role_id`` (default Admin) and no org role.
        """
        scoped_to = tuple(workspace_ids)
        with self.lock:
            self._require_org(org_id)
            for workspace_id in scoped_to:
                self._workspace_in(org_id, workspace_id)
            if len(set(scoped_to)) != len(scoped_to):
                raise ValueError("a key cannot name the same workspace twice")
            if scoped_to:
                if org_role_id is not None:
                    raise ValueError("workspace-scoped keys have no org role")
                role_id = role_id or BUILTIN_BY_NAME[WORKSPACE_ADMIN].id
            else:
                org_role_id = self._role_in(org_id, org_role_id or BUILTIN_BY_NAME[ORG_USER].id, "organization").id
            if role_id is not None:
                self._role_in(org_id, role_id, "workspace")
            return self._add_key(
                "service_key",
                org_id,
                secret,
                description=description,
                read_only=read_only,
                created_at=created_at,
                expires_at=expires_at,
                last_used_at=last_used_at,
                workspace_ids=scoped_to,
                role_id=role_id,
                org_role_id=org_role_id,
            )

    def add_pat(
        self,
        user_id: str,
        *,
        default_workspace_id: str | None = None,
        description: str = DEFAULT_DESCRIPTION,
        created_at: datetime | None = None,
        expires_at: datetime | None = None,
        last_used_at: datetime | None = None,
        secret: str | None = None,
    ) -> IssuedKey:
        """Add a personal access token owned by ``user_id``; it acts with that user's roles."""
        with self.lock:
            user = self._users.get(user_id)
            if user is None:
                raise ValueError(f"unknown user {user_id}")
            if default_workspace_id is not None:
                self._workspace_in(user.organization_id, default_workspace_id)
            return self._add_key(
                "personal_access_token",
                user.organization_id,
                secret,
                description=description,
                created_at=created_at,
                expires_at=expires_at,
                last_used_at=last_used_at,
                owner_user_id=user.id,
                default_workspace_id=default_workspace_id,
            )

    def delete_key(self, key_id: str) -> KeyRecord:
        with self.lock:
            key = self._keys[key_id]
            if key.deleted_at is None:
                key.deleted_at = self.clock.now()
            return key

    # ---- queries --------------------------------------------------------------------------------

    def org(self, org_id: str) -> Organization | None:
        with self.lock:
            return self._orgs.get(org_id)

    def workspace(self, workspace_id: str) -> Workspace | None:
        with self.lock:
            return self._workspaces.get(workspace_id)

    def workspaces_of(self, org_id: str) -> list[Workspace]:
        with self.lock:
            return [w for w in self._workspaces.values() if w.organization_id == org_id]

    def role(self, role_id: str) -> Role | None:
        with self.lock:
            return self._roles.get(role_id)

    def roles_of(self, org_id: str) -> list[Role]:
        """Built-in roles plus the organization's custom roles."""
        with self.lock:
            return [r for r in self._roles.values() if r.organization_id in (None, org_id)]

    def find_role(self, org_id: str, reference: str, access_scope: AccessScope) -> Role:
        """A role of the org by id, ``name`` (e.g. WORKSPACE_EDITOR) or display name (e.g. Editor)."""
        matches = [
            r
            for r in self.roles_of(org_id)
            if r.access_scope == access_scope and reference in (r.id, r.display_name, r.name)
        ]
        if len(matches) != 1:
            problem = "no" if not matches else "more than one"
            raise ValueError(f"{problem} {access_scope} role matches {reference!r}")
        return matches[0]

    def user(self, user_id: str) -> User | None:
        with self.lock:
            return self._users.get(user_id)

    def key(self, key_id: str) -> KeyRecord | None:
        with self.lock:
            return self._keys.get(key_id)

    def all_keys(self) -> list[KeyRecord]:
        """Every key ever issued, deleted ones included, in creation order."""
        with self.lock:
            return list(self._keys.values())

    def keys_of(self, org_id: str) -> list[KeyRecord]:
        """Every key ever issued in one organization, deleted ones included, in creation order: what
        ``all_keys`` filtered by organization gives, without a scan of every org's keys."""
        with self.lock:
            return list(self._keys_by_org.get(org_id, ()))

    def key_for_secret(self, secret: str) -> KeyRecord | None:
        with self.lock:
            key_id = self._key_ids_by_fingerprint.get(keygen.fingerprint(secret))
            return None if key_id is None else self._keys[key_id]

    # ---- helpers --------------------------------------------------------------------------------

    def _at(self, moment: datetime | None) -> datetime:
        return self.clock.now() if moment is None else require_aware(moment)

    def _require_org(self, org_id: str) -> Organization:
        org = self.org(org_id)
        if org is None:
            raise ValueError(f"unknown organization {org_id}")
        return org

    def _workspace_in(self, org_id: str, workspace_id: str) -> Workspace:
        workspace = self._workspaces.get(workspace_id)
        if workspace is None or workspace.organization_id != org_id:
            raise ValueError(f"workspace {workspace_id} is not in organization {org_id}")
        return workspace

    def _role_in(self, org_id: str, role_id: str, access_scope: AccessScope) -> Role:
        role = self._roles.get(role_id)
        if role is None or role.organization_id not in (None, org_id) or role.access_scope != access_scope:
            raise ValueError(f"role {role_id} is not a {access_scope} role of organization {org_id}")
        return role

    def _add_key(
        self,
        kind: KeyKind,
        org_id: str,
        secret: str | None,
        *,
        description: str,
        created_at: datetime | None,
        expires_at: datetime | None,
        last_used_at: datetime | None,
        read_only: bool = False,
        workspace_ids: tuple[str, ...] = (),
        role_id: str | None = None,
        org_role_id: str | None = None,
        owner_user_id: str | None = None,
        default_workspace_id: str | None = None,
    ) -> IssuedKey:
        if secret is None:
            secret = keygen.new_secret(kind)
        else:
            keygen.check_secret(kind, secret)
        digest = keygen.fingerprint(secret)
        if digest in self._key_ids_by_fingerprint:
            raise ValueError("that secret is already in use")
        record = KeyRecord(
            id=str(uuid.uuid4()),
            kind=kind,
            organization_id=org_id,
            secret_sha256=digest,
            short_key=keygen.short_key(secret),
            description=description,
            created_at=self._at(created_at),
            expires_at=None if expires_at is None else require_aware(expires_at),
            last_used_at=None if last_used_at is None else require_aware(last_used_at),
            read_only=read_only,
            workspace_ids=workspace_ids,
            role_id=role_id,
            org_role_id=org_role_id,
            owner_user_id=owner_user_id,
            default_workspace_id=default_workspace_id,
        )
        self._keys[record.id] = record
        self._key_ids_by_fingerprint[digest] = record.id
        self._keys_by_org.setdefault(org_id, []).append(record)
        return IssuedKey(record.id, secret)

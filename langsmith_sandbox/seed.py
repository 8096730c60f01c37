"""Seeding a SandboxState from YAML (or JSON, or a dict), with times relative to the sandbox clock.

Format (every field optional unless marked; unknown fields are errors, to catch typos)::

    orgs:
      - name: Acme                          # required; the org's display name
        id: <uuid>                          # default: random
        max_service_key_expiry_days: 365    # also max_pat_expiry_days, max_api_key_expiry_days
        pat_creation_disabled: false
        workspaces:
          - name: production                # required; display names may repeat...
            ref: prod-eu                    # ...then give a unique ref (default: the name) to refer to it
            id: <uuid>
            created_ago: 400d
        roles:                              # custom roles, referred to by name below
          - {name: Auditor, access_scope: workspace, permissions: [workspaces:read]}
        users:
          - email: alice@acme.example       # required; PATs refer to their user by email
            org_role: Organization Admin    # default Organization User
            workspaces: {production: Admin} # workspace ref -> workspace role
        service_keys:
          - name: rotator                   # required; unique in the seed, default description
            description: key rotator
            org_role: Organization Admin    # org-wide keys (no workspaces); default Organization User
            workspaces: [production]        # makes the key workspace-scoped
            role: Editor                    # workspace role; default Admin for scoped keys
            read_only: false
            created_ago: 65d                # default 0 (now)
            expires_in: 300d                # null or absent: never expires
            expired_ago: 2d                 # instead of expires_in, for an already expired key
            last_used_ago: 5m               # default: never used
            reveal: true                    # hand the secret back in SeedResult.revealed
        personal_access_tokens:
          - {name: alice-laptop, user: alice@acme.example, default_workspace: production, expires_in: 14d}

Roles are named by display name ("Organization Admin", "Editor"), internal name or id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import yaml

from langsmith_sandbox.model import AccessScope, IssuedKey, KeyKind, Organization, Workspace
from langsmith_sandbox.state import SandboxState
from rotator.domain.durations import parse_duration

DEMO_SEED = Path(__file__).parent / "seeds" / "demo.yaml"


class SeedError(ValueError):
    pass


@dataclass(frozen=True)
class RevealedKey:
    id: str
    organization_id: str
    kind: KeyKind
    secret: str

    def __repr__(self) -> str:
        return f"RevealedKey(id={self.id!r}, organization_id={self.organization_id!r}, secret='***')"

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "kind": self.kind,
            "secret": self.secret,
        }


@dataclass(frozen=True)
class SeedResult:
    """Ids of what the seed created, by org name, workspace ref, user email and key name."""

    org_ids: dict[str, str] = field(default_factory=dict)
    workspace_ids: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, str] = field(default_factory=dict)
    revealed: dict[str, RevealedKey] = field(default_factory=dict)  # keys marked ``reveal: true``, in order

    def to_json(self) -> dict[str, object]:
        return {
            "org_ids": self.org_ids,
            "workspace_ids": self.workspace_ids,
            "user_ids": self.user_ids,
            "key_ids": self.key_ids,
            "revealed": {name: key.to_json() for name, key in self.revealed.items()},
        }


def load_seed_file(state: SandboxState, path: Path | str) -> SeedResult:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror}") from exc
    return load_seed(state, text)


def load_seed(state: SandboxState, source: str | Mapping[str, object]) -> SeedResult:
    """Add the seed's records to ``state``.

    A seed that fails validation adds nothing, unless it is an explicit id colliding with existing state.
    """
    if isinstance(source, str):
        try:
            source = yaml.safe_load(source) or {}
        except yaml.YAMLError as exc:
            raise SeedError(f"seed is not valid YAML: {exc}") from exc
    if not isinstance(source, Mapping):
        raise SeedError("a seed must be a mapping with an 'orgs' list")
    with state.lock:
        # A dry run on a scratch state sharing the clock finds every error before anything changes.
        _Loader(SandboxState(state.clock), source).load()
        return _Loader(state, source).load()


class _Node:
    """One mapping of the seed, read field by field; ``done`` rejects fields nobody read."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise SeedError(f"{where}: expected a mapping")
        self.data = cast(Mapping[str, object], data)
        self.where = where
        self._read: set[str] = set()

    def get(self, name: str) -> object:
        self._read.add(name)
        return self.data.get(name)

    def error(self, name: str, problem: str) -> SeedError:
        return SeedError(f"{self.where}.{name}: {problem}")

    def text(self, name: str, default: str | None = None) -> str:
        value = self.get(name)
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or not value:
            raise self.error(name, "required text" if value is None else "must be text")
        return value

    def optional_text(self, name: str) -> str | None:
        return None if self.get(name) is None else self.text(name)

    def optional_int(self, name: str) -> int | None:
        value = self.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise self.error(name, "must be a whole number or null")
        return value

    def flag(self, name: str) -> bool:
        value = self.get(name)
        if value is not None and not isinstance(value, bool):
            raise self.error(name, "must be true or false")
        return bool(value)

    def items(self, name: str) -> list[_Node]:
        value = self.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(name, "must be a list")
        return [_Node(item, f"{self.where}.{name}[{index}]") for index, item in enumerate(value)]

    def text_list(self, name: str) -> list[str]:
        value = self.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(name, "must be a list of names")
        return cast(list[str], value)

    def text_mapping(self, name: str) -> dict[str, str]:
        value = self.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.error(name, "must map names to names")
        return dict(cast(Mapping[str, str], value))

    def duration(self, name: str) -> timedelta | None:
        value = self.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(name, "must be a duration such as 10d, 36h or 90m")
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise self.error(name, str(exc)) from None

    def done(self) -> None:
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            raise SeedError(f"{self.where}: unknown field(s) {', '.join(unknown)}")


class _Loader:
    def __init__(self, state: SandboxState, data: Mapping[str, object]) -> None:
        self.state = state
        self.root = _Node(data, "seed")
        self.now = state.clock.now()
        self.result = SeedResult()
        self.workspaces: dict[str, Workspace] = {}

    def load(self) -> SeedResult:
        for org_node in self.root.items("orgs"):
            self._org(org_node)
        self.root.done()
        return self.result

    def _org(self, node: _Node) -> None:
        name = _unique(node, "name", self.result.org_ids)
        with _located(node):
            org = self.state.add_org(
                name,
                id=node.optional_text("id"),
                max_api_key_expiry_days=node.optional_int("max_api_key_expiry_days"),
                max_pat_expiry_days=node.optional_int("max_pat_expiry_days"),
                max_service_key_expiry_days=node.optional_int("max_service_key_expiry_days"),
                pat_creation_disabled=node.flag("pat_creation_disabled"),
            )
        self.result.org_ids[name] = org.id
        for item in node.items("workspaces"):
            self._workspace(org, item)
        for item in node.items("roles"):
            self._role(org, item)
        for item in node.items("users"):
            self._user(org, item)
        for item in node.items("service_keys"):
            self._service_key(org, item)
        for item in node.items("personal_access_tokens"):
            self._pat(org, item)
        node.done()

    def _workspace(self, org: Organization, node: _Node) -> None:
        name = node.text("name")
        ref = _unique(node, "ref", self.workspaces, default=name)
        with _located(node):
            workspace = self.state.add_workspace(
                org.id, name, id=node.optional_text("id"), created_at=self._ago(node, "created_ago")
            )
        self.workspaces[ref] = workspace
        self.result.workspace_ids[ref] = workspace.id
        node.done()

    def _role(self, org: Organization, node: _Node) -> None:
        scope = node.text("access_scope")
        if scope not in ("organization", "workspace"):
            raise node.error("access_scope", "must be 'organization' or 'workspace'")
        with _located(node):
            self.state.add_role(
                org.id,
                node.text("name"),
                access_scope=cast(AccessScope, scope),
                permissions=node.text_list("permissions"),
                description=node.optional_text("description") or "",
                id=node.optional_text("id"),
            )
        node.done()

    def _user(self, org: Organization, node: _Node) -> None:
        email = _unique(node, "email", self.result.user_ids)
        workspace_roles = {
            self._workspace_ref(org, node, "workspaces", ref).id: self._role_id(
                org, node, "workspaces", role, "workspace"
            )
            for ref, role in node.text_mapping("workspaces").items()
        }
        with _located(node):
            user = self.state.add_user(
                org.id,
                email,
                org_role_id=self._optional_role_id(org, node, "org_role", "organization"),
                workspace_roles=workspace_roles,
                id=node.optional_text("id"),
            )
        self.result.user_ids[email] = user.id
        node.done()

    def _service_key(self, org: Organization, node: _Node) -> None:
        name = _unique(node, "name", self.result.key_ids)
        workspaces = [self._workspace_ref(org, node, "workspaces", ref).id for ref in node.text_list("workspaces")]
        with _located(node):
            issued = self.state.add_service_key(
                org.id,
                workspace_ids=workspaces,
                role_id=self._optional_role_id(org, node, "role", "workspace"),
                org_role_id=self._optional_role_id(org, node, "org_role", "organization"),
                description=node.text("description", default=name),
                read_only=node.flag("read_only"),
                created_at=self._ago(node, "created_ago"),
                expires_at=self._expiry(node),
                last_used_at=self._ago(node, "last_used_ago", default_now=False),
            )
        self._record_key(org, node, name, issued, "service_key")

    def _pat(self, org: Organization, node: _Node) -> None:
        name = _unique(node, "name", self.result.key_ids)
        email = node.text("user")
        user_id = self.result.user_ids.get(email)
        user = None if user_id is None else self.state.user(user_id)
        if user is None or user.organization_id != org.id:
            raise node.error("user", f"no user {email!r} in this organization")
        default_ref = node.optional_text("default_workspace")
        default = None if default_ref is None else self._workspace_ref(org, node, "default_workspace", default_ref)
        with _located(node):
            issued = self.state.add_pat(
                user.id,
                default_workspace_id=None if default is None else default.id,
                description=node.text("description", default=name),
                created_at=self._ago(node, "created_ago"),
                expires_at=self._expiry(node),
                last_used_at=self._ago(node, "last_used_ago", default_now=False),
            )
        self._record_key(org, node, name, issued, "personal_access_token")

    # ---- helpers ------------------------------------------------------------------------------------

    def _record_key(self, org: Organization, node: _Node, name: str, issued: IssuedKey, kind: KeyKind) -> None:
        self.result.key_ids[name] = issued.id
        if node.flag("reveal"):
            self.result.revealed[name] = RevealedKey(issued.id, org.id, kind, issued.secret)
        node.done()

    def _workspace_ref(self, org: Organization, node: _Node, field_name: str, ref: str) -> Workspace:
        workspace = self.workspaces.get(ref)
        if workspace is None or workspace.organization_id != org.id:
            raise node.error(field_name, f"no workspace with ref {ref!r} in this organization")
        return workspace

    def _role_id(self, org: Organization, node: _Node, field_name: str, reference: str, scope: AccessScope) -> str:
        try:
            return self.state.find_role(org.id, reference, scope).id
        except ValueError as exc:
            raise node.error(field_name, str(exc)) from None

    def _optional_role_id(self, org: Organization, node: _Node, field_name: str, scope: AccessScope) -> str | None:
        reference = node.optional_text(field_name)
        return None if reference is None else self._role_id(org, node, field_name, reference, scope)

    def _ago(self, node: _Node, name: str, *, default_now: bool = True) -> datetime | None:
        ago = node.duration(name)
        if ago is None:
            return self.now if default_now else None
        return self.now - ago

    def _expiry(self, node: _Node) -> datetime | None:
        expires_in = node.duration("expires_in")
        expired_ago = node.duration("expired_ago")
        if expires_in is not None and expired_ago is not None:
            raise node.error("expires_in", "give expires_in or expired_ago, not both")
        if expires_in is not None:
            return self.now + expires_in
        return None if expired_ago is None else self.now - expired_ago


def _unique(node: _Node, field_name: str, seen: Mapping[str, object], default: str | None = None) -> str:
    value = node.text(field_name, default=default)
    if value in seen:
        raise node.error(field_name, f"{value!r} appears twice in this seed")
    return value


@contextmanager
def _located(node: _Node) -> Iterator[None]:
    """Prefix the state builders' ValueErrors with where in the seed they happened."""
    try:
        yield
    except SeedError:
        raise
    except ValueError as exc:
        raise SeedError(f"{node.where}: {exc}") from None

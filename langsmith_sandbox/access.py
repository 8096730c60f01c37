"""Who may do what: the effective org and workspace roles of a key.

- A PAT acts as its user: the user's org role, and the user's role in each workspace.
- An org-wide service key has its ``org_role_id``, and its optional ``role_id`` in every workspace.
- A workspace-scoped service key has ``role_id`` in its workspaces only and acts as an Organization
  User at org level (its listed ``org_role_id`` stays null, as in LangSmith).
- An org role with ``workspaces:manage`` (Organization Admin, Operator) is Admin of every workspace.
"""

from __future__ import annotations

from langsmith_sandbox.model import KeyRecord, Role, User, Workspace
from langsmith_sandbox.roles import BUILTIN_BY_NAME, ORG_USER, WORKSPACE_ADMIN, WORKSPACES_MANAGE
from langsmith_sandbox.state import SandboxState


def _owner(state: SandboxState, key: KeyRecord) -> User:
    user = state.user(key.owner_user_id or "")
    if user is None:
        raise LookupError(f"PAT {key.id} has no owner")
    return user


def _org_role(state: SandboxState, key: KeyRecord) -> Role:
    role_id = _owner(state, key).org_role_id if not key.is_service_key else key.org_role_id
    role = state.role(role_id or BUILTIN_BY_NAME[ORG_USER].id)
    if role is None:
        raise LookupError(f"the org role of key {key.id} does not exist")
    return role


def org_permissions(state: SandboxState, key: KeyRecord) -> frozenset[str]:
    return frozenset(_org_role(state, key).permissions)


def workspace_role(state: SandboxState, key: KeyRecord, workspace: Workspace) -> Role | None:
    """The key's role in ``workspace``, or None when it cannot access it."""
    if workspace.organization_id != key.organization_id:
        return None
    if WORKSPACES_MANAGE in org_permissions(state, key):
        return BUILTIN_BY_NAME[WORKSPACE_ADMIN]
    role_id: str | None
    if not key.is_service_key:
        role_id = _owner(state, key).workspace_roles.get(workspace.id)
    elif key.workspace_ids and workspace.id not in key.workspace_ids:
        role_id = None
    else:
        role_id = key.role_id
    return None if role_id is None else state.role(role_id)


def workspace_permissions(state: SandboxState, key: KeyRecord, workspace: Workspace) -> frozenset[str]:
    role = workspace_role(state, key, workspace)
    return frozenset(() if role is None else role.permissions)


def accessible_workspaces(state: SandboxState, key: KeyRecord) -> list[tuple[Workspace, Role]]:
    found = []
    for workspace in state.workspaces_of(key.organization_id):
        role = workspace_role(state, key, workspace)
        if role is not None:
            found.append((workspace, role))
    return found


def can_manage_workspaces(state: SandboxState, key: KeyRecord, workspace_ids: tuple[str, ...]) -> bool:
    """Whether ``key`` may create or delete service keys scoped to all of ``workspace_ids``."""
    for workspace_id in workspace_ids:
        workspace = state.workspace(workspace_id)
        if workspace is None or WORKSPACES_MANAGE not in workspace_permissions(state, key, workspace):
            return False
    return True

"""LangSmith's built-in roles and the permission strings the sandbox checks."""

from __future__ import annotations

import uuid

from langsmith_sandbox.model import AccessScope, Role

ORGANIZATION_MANAGE = "organization:manage"
ORGANIZATION_READ = "organization:read"
PATS_CREATE = "organization:pats:create"
WORKSPACES_MANAGE = "workspaces:manage"
WORKSPACES_READ = "workspaces:read"

ORGANIZATION_ADMIN = "ORGANIZATION_ADMIN"
ORGANIZATION_OPERATOR = "ORGANIZATION_OPERATOR"
ORG_USER = "ORG_USER"
ORGANIZATION_VIEWER = "ORGANIZATION_VIEWER"
WORKSPACE_ADMIN = "WORKSPACE_ADMIN"
WORKSPACE_EDITOR = "WORKSPACE_EDITOR"
WORKSPACE_VIEWER = "WORKSPACE_VIEWER"
CUSTOM = "CUSTOM"

_WORKSPACE_DATA = ("projects:read", "runs:read")
_WORKSPACE_WRITE = ("projects:create", "runs:create")


def _builtin(name: str, display_name: str, scope: AccessScope, permissions: tuple[str, ...]) -> Role:
    # Stable ids across runs make sandbox logs and seeds comparable.
    role_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"langsmith-sandbox/roles/{name}"))
    return Role(role_id, name, display_name, scope, permissions, description=f"Built-in {display_name} role")


BUILTIN_ROLES: tuple[Role, ...] = (
    _builtin(
        ORGANIZATION_ADMIN,
        "Organization Admin",
        "organization",
        (ORGANIZATION_MANAGE, ORGANIZATION_READ, PATS_CREATE, WORKSPACES_MANAGE, WORKSPACES_READ),
    ),
    _builtin(
        ORGANIZATION_OPERATOR,
        "Organization Operator",
        "organization",
        (ORGANIZATION_READ, PATS_CREATE, WORKSPACES_MANAGE, WORKSPACES_READ),
    ),
    _builtin(ORG_USER, "Organization User", "organization", (ORGANIZATION_READ, PATS_CREATE)),
    _builtin(ORGANIZATION_VIEWER, "Organization Viewer", "organization", (ORGANIZATION_READ,)),
    _builtin(
        WORKSPACE_ADMIN,
        "Admin",
        "workspace",
        (
            WORKSPACES_MANAGE,
            "workspaces:manage-members",
            WORKSPACES_READ,
            *_WORKSPACE_DATA,
            *_WORKSPACE_WRITE,
        ),
    ),
    _builtin(WORKSPACE_EDITOR, "Editor", "workspace", (WORKSPACES_READ, *_WORKSPACE_DATA, *_WORKSPACE_WRITE)),
    _builtin(WORKSPACE_VIEWER, "Viewer", "workspace", (WORKSPACES_READ, *_WORKSPACE_DATA)),
)
BUILTIN_BY_NAME = {role.name: role for role in BUILTIN_ROLES}

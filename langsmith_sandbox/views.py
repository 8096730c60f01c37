"""JSON shapes of LangSmith responses (APIKeyGetResponse, OrganizationInfo, TenantForUser, Role, Tenant)."""

from __future__ import annotations

from datetime import datetime

from langsmith_sandbox.model import KeyRecord, Organization, Role, Workspace
from langsmith_sandbox.state import SandboxState


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def api_key(state: SandboxState, key: KeyRecord) -> dict[str, object]:
    """APIKeyGetResponse: workspaces by name only; the secret never appears."""
    names = [ws.display_name for ws_id in key.workspace_ids if (ws := state.workspace(ws_id)) is not None]
    default_id = key.default_workspace_id if not key.is_service_key else next(iter(key.workspace_ids), None)
    default = None if default_id is None else state.workspace(default_id)
    return {
        "id": key.id,
        "short_key": key.short_key,
        "description": key.description,
        "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at),
        "expires_at": iso(key.expires_at),
        "read_only": key.read_only,
        "workspace_names": names or None,
        "default_workspace_name": None if default is None else default.display_name,
        "role_id": key.role_id,
        "org_role_id": key.org_role_id,
        "access_scope": key.access_scope,
    }


def organization_info(org: Organization) -> dict[str, object]:
    return {
        "id": org.id,
        "display_name": org.display_name,
        "is_personal": False,
        "disabled": False,
        "pat_creation_disabled": org.pat_creation_disabled,
        "max_api_key_expiry_days": org.max_api_key_expiry_days,
        "max_pat_expiry_days": org.max_pat_expiry_days,
        "max_service_key_expiry_days": org.max_service_key_expiry_days,
    }


def tenant(workspace: Workspace) -> dict[str, object]:
    return {
        "id": workspace.id,
        "display_name": workspace.display_name,
        "created_at": iso(workspace.created_at),
        "tenant_handle": workspace.tenant_handle,
    }


def tenant_for_user(workspace: Workspace, role: Role) -> dict[str, object]:
    return {
        **tenant(workspace),
        "organization_id": workspace.organization_id,
        "is_personal": False,
        "is_deleted": False,
        "read_only": False,
        "role_id": role.id,
        "role_name": role.name,
        "permissions": list(role.permissions),
    }


def role(record: Role) -> dict[str, object]:
    return {
        "id": record.id,
        "name": record.name,
        "display_name": record.display_name,
        "description": record.description,
        "organization_id": record.organization_id,
        "permissions": list(record.permissions),
        "access_scope": record.access_scope,
    }

"""E1-E10: service keys per workspace and per org, and personal access tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from langsmith_sandbox import views
from langsmith_sandbox.access import (
    accessible_workspaces,
    can_manage_workspaces,
    org_permissions,
    workspace_permissions,
    workspace_role,
)
from langsmith_sandbox.bodies import CreateKeyBody, parse_create_body, parse_update_body
from langsmith_sandbox.call import Call, require
from langsmith_sandbox.messages import ApiError, Response, field_error, invalid, not_found
from langsmith_sandbox.model import AccessScope, IssuedKey, KeyKind, KeyRecord, Organization
from langsmith_sandbox.roles import (
    BUILTIN_BY_NAME,
    ORG_USER,
    ORGANIZATION_MANAGE,
    ORGANIZATION_READ,
    PATS_CREATE,
    WORKSPACE_ADMIN,
    WORKSPACE_VIEWER,
    WORKSPACES_MANAGE,
    WORKSPACES_READ,
)
from langsmith_sandbox.state import SandboxState

Errors = list[dict[str, object]]


# ---- E1-E3: the current workspace's service keys (Tenant headers) ------------------------------------


def list_workspace_keys(state: SandboxState, call: Call) -> Response:
    workspace = call.tenant
    require(WORKSPACES_READ in workspace_permissions(state, call.caller, workspace))
    keys = [k for k in _live_service_keys(state, call.org) if workspace.id in k.workspace_ids]
    return Response(200, [views.api_key(state, k) for k in keys])


def create_workspace_key(state: SandboxState, call: Call) -> Response:
    workspace = call.tenant
    require(WORKSPACES_MANAGE in workspace_permissions(state, call.caller, workspace))
    body = parse_create_body(call.request.body)
    errors: Errors = []
    if body.workspaces is not None and body.workspaces != (workspace.id,):
        msg = "This endpoint creates a key in the current workspace; use /orgs/current/service-keys for others"
        errors.append(field_error(("body", "workspaces"), msg, "value_error", list(body.workspaces)))
    _reject(body.org_role_id, "org_role_id", "applies only to organization-scoped keys", errors)
    _reject(body.default_workspace_id, "default_workspace_id", "applies only to personal access tokens", errors)
    _check_role(state, call.org, body.role_id, scope="workspace", field="role_id", errors=errors)
    _check_expiry(state, call.org, "service_key", body.expires_at, errors)
    _raise_if(errors)
    issued = state.add_service_key(
        call.org.id,
        workspace_ids=(workspace.id,),
        role_id=body.role_id or _default_workspace_role(body),
        description=body.description,
        read_only=body.read_only,
        expires_at=body.expires_at,
    )
    return _created(state, issued)


def delete_workspace_key(state: SandboxState, call: Call) -> Response:
    workspace = call.tenant
    require(WORKSPACES_MANAGE in workspace_permissions(state, call.caller, workspace))
    key = state.key(call.params["api_key_id"])
    if key is None or key.deleted_at is not None or workspace.id not in key.workspace_ids:
        raise not_found()
    return Response(200, views.api_key(state, state.delete_key(key.id)))


# ---- E4-E7: all service keys of the organization (Org headers) ---------------------------------------


def list_org_keys(state: SandboxState, call: Call) -> Response:
    require(ORGANIZATION_READ in org_permissions(state, call.caller))
    return Response(200, [views.api_key(state, k) for k in _live_service_keys(state, call.org)])


def create_org_key(state: SandboxState, call: Call) -> Response:
    body = parse_create_body(call.request.body)
    errors: Errors = []
    role_id = body.role_id
    org_role_id = body.org_role_id
    if body.workspaces is None:
        require(ORGANIZATION_MANAGE in org_permissions(state, call.caller))
        org_role_id = org_role_id or BUILTIN_BY_NAME[ORG_USER].id
        _check_role(state, call.org, org_role_id, scope="organization", field="org_role_id", errors=errors)
    else:
        _check_workspaces(state, call.org, body.workspaces, errors)
        _raise_if(errors)
        require(can_manage_workspaces(state, call.caller, body.workspaces))
        _reject(org_role_id, "org_role_id", "applies only to organization-scoped keys", errors)
        role_id = role_id or _default_workspace_role(body)
    _check_role(state, call.org, role_id, scope="workspace", field="role_id", errors=errors)
    _reject(body.default_workspace_id, "default_workspace_id", "applies only to personal access tokens", errors)
    _check_expiry(state, call.org, "service_key", body.expires_at, errors)
    _raise_if(errors)
    issued = state.add_service_key(
        call.org.id,
        workspace_ids=body.workspaces or (),
        role_id=role_id,
        org_role_id=org_role_id,
        description=body.description,
        read_only=body.read_only,
        expires_at=body.expires_at,
    )
    return _created(state, issued)


def delete_org_key(state: SandboxState, call: Call) -> Response:
    key = _org_service_key(state, call)
    if key.workspace_ids:
        require(can_manage_workspaces(state, call.caller, key.workspace_ids))
    else:
        require(ORGANIZATION_MANAGE in org_permissions(state, call.caller))
    return Response(200, views.api_key(state, state.delete_key(key.id)))


def update_org_key(state: SandboxState, call: Call) -> Response:
    require(ORGANIZATION_MANAGE in org_permissions(state, call.caller))
    key = _org_service_key(state, call)
    body = parse_update_body(call.request.body)
    errors: Errors = []
    if key.workspace_ids:
        _reject(body.org_role_id, "org_role_id", "applies only to organization-scoped keys", errors)
    else:
        _check_role(state, call.org, body.org_role_id, scope="organization", field="org_role_id", errors=errors)
    _check_role(state, call.org, body.role_id, scope="workspace", field="role_id", errors=errors)
    _raise_if(errors)
    key.role_id = body.role_id or key.role_id
    key.org_role_id = body.org_role_id or key.org_role_id
    return Response(200, views.api_key(state, key))


# ---- E8-E10: the caller's own personal access tokens (Org headers) -----------------------------------


def list_pats(state: SandboxState, call: Call) -> Response:
    """A service key owns no PATs, so it gets an empty list rather than an error."""
    require(PATS_CREATE in org_permissions(state, call.caller))
    if call.caller.is_service_key:
        return Response(200, [])
    owner = call.caller.owner_user_id
    pats = [k for k in state.keys_of(call.org.id) if k.owner_user_id == owner and k.deleted_at is None]
    return Response(200, [views.api_key(state, k) for k in pats])


def create_pat(state: SandboxState, call: Call) -> Response:
    caller = call.caller
    require(PATS_CREATE in org_permissions(state, caller) and not caller.is_service_key)
    if call.org.pat_creation_disabled:
        raise ApiError(403, {"detail": "Personal access token creation is disabled for this organization"})
    body = parse_create_body(call.request.body)
    errors: Errors = []
    why = "applies only to service keys"
    _reject(body.workspaces, "workspaces", why, errors)
    _reject(body.role_id, "role_id", why, errors)
    _reject(body.org_role_id, "org_role_id", why, errors)
    default_workspace_id = body.default_workspace_id
    if default_workspace_id is None:
        default_workspace_id = next((ws.id for ws, _ in accessible_workspaces(state, caller)), None)
    else:
        workspace = state.workspace(default_workspace_id)
        if workspace is None or workspace_role(state, caller, workspace) is None:
            msg = "Workspace not found or not accessible to you"
            errors.append(field_error(("body", "default_workspace_id"), msg, "value_error", default_workspace_id))
    _check_expiry(state, call.org, "personal_access_token", body.expires_at, errors)
    _raise_if(errors)
    issued = state.add_pat(
        caller.owner_user_id or "",
        default_workspace_id=default_workspace_id,
        description=body.description,
        expires_at=body.expires_at,
    )
    return _created(state, issued)


def delete_pat(state: SandboxState, call: Call) -> Response:
    caller = call.caller
    require(PATS_CREATE in org_permissions(state, caller) and not caller.is_service_key)
    key = state.key(call.params["pat_id"])
    if key is None or key.deleted_at is not None or key.is_service_key or key.owner_user_id != caller.owner_user_id:
        raise not_found()
    return Response(200, views.api_key(state, state.delete_key(key.id)))


# ---- helpers -----------------------------------------------------------------------------------------


def _live_service_keys(state: SandboxState, org: Organization) -> list[KeyRecord]:
    return [k for k in state.keys_of(org.id) if k.is_service_key and k.deleted_at is None]


def _org_service_key(state: SandboxState, call: Call) -> KeyRecord:
    key = state.key(call.params["api_key_id"])
    if key is None or key not in _live_service_keys(state, call.org):
        raise not_found()
    return key


def _created(state: SandboxState, issued: IssuedKey) -> Response:
    """APIKeyCreateResponse: the only response that carries the secret."""
    key = state.key(issued.id)
    if key is None:
        raise RuntimeError("a key vanished right after its creation")
    return Response(200, {**views.api_key(state, key), "key": issued.secret})


def _default_workspace_role(body: CreateKeyBody) -> str:
    return BUILTIN_BY_NAME[WORKSPACE_VIEWER if body.read_only else WORKSPACE_ADMIN].id


def _reject(value: object, field: str, why: str, errors: Errors) -> None:
    if value is not None:
        errors.append(field_error(("body", field), f"{field} {why}; send null or omit it", "value_error", value))


def _check_role(
    state: SandboxState,
    org: Organization,
    role_id: str | None,
    *,
    scope: AccessScope,
    field: str,
    errors: Errors,
) -> None:
    if role_id is None:
        return
    role = state.role(role_id)
    if role is None or role.organization_id not in (None, org.id) or role.access_scope != scope:
        msg = f"No {scope} role with this id in the organization"
        errors.append(field_error(("body", field), msg, "value_error", role_id))


def _check_workspaces(state: SandboxState, org: Organization, workspace_ids: tuple[str, ...], errors: Errors) -> None:
    if not workspace_ids:
        msg = "Name at least one workspace, or send null for an organization-wide key"
        errors.append(field_error(("body", "workspaces"), msg, "value_error", []))
    seen: set[str] = set()
    for index, workspace_id in enumerate(workspace_ids):
        workspace = state.workspace(workspace_id)
        loc = ("body", "workspaces", index)
        if workspace is None or workspace.organization_id != org.id:
            errors.append(field_error(loc, "Workspace not found in this organization", "value_error", workspace_id))
        elif workspace_id in seen:
            errors.append(field_error(loc, "Workspace listed twice", "value_error", workspace_id))
        seen.add(workspace_id)


def _check_expiry(
    state: SandboxState, org: Organization, kind: KeyKind, expires_at: datetime | None, errors: Errors
) -> None:
    """expires_at must lie in the future and within the org's limit; with a limit, "never" is refused."""
    now = state.clock.now()
    loc = ("body", "expires_at")
    shown = None if expires_at is None else expires_at.isoformat()
    limit = org.max_service_key_expiry_days if kind == "service_key" else org.max_pat_expiry_days
    if limit is None:
        limit = org.max_api_key_expiry_days
    label = "service keys" if kind == "service_key" else "personal access tokens"
    if expires_at is not None and expires_at <= now:
        errors.append(field_error(loc, "expires_at must be in the future", "value_error", shown))
    elif limit is not None and (expires_at is None or expires_at > now + timedelta(days=limit)):
        msg = f"This organization requires {label} to expire within {limit} days"
        errors.append(field_error(loc, msg, "value_error", shown))


def _raise_if(errors: Errors) -> None:
    if errors:
        raise invalid(errors)

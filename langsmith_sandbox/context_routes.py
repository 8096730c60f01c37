"""Context endpoints a client uses to learn where its key stands: org info, workspaces, roles, settings."""

from __future__ import annotations

from langsmith_sandbox import views
from langsmith_sandbox.access import accessible_workspaces, org_permissions
from langsmith_sandbox.call import Call, require
from langsmith_sandbox.messages import Response
from langsmith_sandbox.roles import ORGANIZATION_READ
from langsmith_sandbox.state import SandboxState


def organization_info(state: SandboxState, call: Call) -> Response:
    return Response(200, views.organization_info(call.org))


def list_workspaces(state: SandboxState, call: Call) -> Response:
    """Only the workspaces the key can access, each with the key's role there."""
    return Response(200, [views.tenant_for_user(ws, role) for ws, role in accessible_workspaces(state, call.caller)])


def list_roles(state: SandboxState, call: Call) -> Response:
    require(ORGANIZATION_READ in org_permissions(state, call.caller))
    return Response(200, [views.role(r) for r in state.roles_of(call.org.id)])


def current_workspace(state: SandboxState, call: Call) -> Response:
    return Response(200, views.tenant(call.tenant))

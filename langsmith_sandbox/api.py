"""The LangSmith API under /api/v1: routing, authentication, org/tenant scoping, then the route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from langsmith_sandbox import context_routes, key_routes
from langsmith_sandbox.access import workspace_role
from langsmith_sandbox.bodies import parse_uuid, uuid_error
from langsmith_sandbox.call import Call, Handler
from langsmith_sandbox.messages import (
    ApiError,
    Request,
    Response,
    field_error,
    forbidden,
    invalid,
    unauthorized,
)
from langsmith_sandbox.model import KeyRecord, Organization, Workspace
from langsmith_sandbox.routing import Router
from langsmith_sandbox.state import SandboxState

API_PREFIX = "/api/v1"

Scope = Literal["org", "org-discoverable", "tenant"]
"""``org-discoverable``: an org route that, without X-Organization-Id, answers for the key's own org."""


@dataclass(frozen=True)
class Endpoint:
    scope: Scope  # which header selects the context: X-Organization-Id or X-Tenant-Id
    handler: Handler


_ENDPOINTS: tuple[tuple[str, str, Scope, Handler], ...] = (
    ("GET", "/api-key", "tenant", key_routes.list_workspace_keys),
    ("POST", "/api-key", "tenant", key_routes.create_workspace_key),
    ("DELETE", "/api-key/{api_key_id}", "tenant", key_routes.delete_workspace_key),
    ("GET", "/orgs/current/service-keys", "org", key_routes.list_org_keys),
    ("POST", "/orgs/current/service-keys", "org", key_routes.create_org_key),
    ("DELETE", "/orgs/current/service-keys/{api_key_id}", "org", key_routes.delete_org_key),
    ("PATCH", "/orgs/current/service-keys/{api_key_id}", "org", key_routes.update_org_key),
    ("GET", "/orgs/current/personal-access-tokens", "org", key_routes.list_pats),
    ("POST", "/orgs/current/personal-access-tokens", "org", key_routes.create_pat),
    ("DELETE", "/orgs/current/personal-access-tokens/{pat_id}", "org", key_routes.delete_pat),
    ("GET", "/orgs/current/info", "org-discoverable", context_routes.organization_info),
    ("GET", "/workspaces", "org", context_routes.list_workspaces),
    ("GET", "/orgs/current/roles", "org", context_routes.list_roles),
    ("GET", "/settings", "tenant", context_routes.current_workspace),
)


class LangSmithApi:
    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._router: Router[Endpoint] = Router()
        for method, path, scope, handler in _ENDPOINTS:
            self._router.add(method, API_PREFIX + path, Endpoint(scope, handler))

    def route_name(self, method: str, path: str) -> str:
        return self._router.route_name(method, path)

    def handle(self, request: Request) -> Response:
        try:
            match = self._router.match(request.method, request.path)
            endpoint = match.route.handler
            with self._state.lock:
                caller = self._authenticate(request, match.route.name)
                org = self._organization(request, caller, endpoint.scope)
                workspace = self._workspace(request, caller) if endpoint.scope == "tenant" else None
                call = Call(request, caller, org, _uuid_params(match.params), workspace)
                return endpoint.handler(self._state, call)
        except ApiError as error:
            return error.response

    def _authenticate(self, request: Request, route: str) -> KeyRecord:
        secret = request.header("x-api-key")
        if not secret:
            raise unauthorized("Missing X-API-Key header")
        key = self._state.key_for_secret(secret)
        if key is None or key.deleted_at is not None:
            raise unauthorized("Invalid API key")
        now = self._state.clock.now()
        if key.is_expired(now):
            raise unauthorized("API key has expired")
        key.last_used_at = now
        key.requests[route] += 1
        return key

    def _organization(self, request: Request, caller: KeyRecord, scope: Scope) -> Organization:
        header = request.header("x-organization-id")
        discoverable = scope == "org-discoverable" and self._state.discovers_org
        if header is None and scope != "tenant" and not discoverable:
            raise invalid([field_error(("header", "x-organization-id"), "Field required", "missing")])
        if header is not None and parse_uuid(header) != caller.organization_id:
            raise forbidden()
        org = self._state.org(caller.organization_id)
        if org is None:
            raise RuntimeError(f"key {caller.id} belongs to no organization")
        return org

    def _workspace(self, request: Request, caller: KeyRecord) -> Workspace:
        """X-Tenant-Id, else the key's own workspace: a scoped key's first one, a PAT's default one."""
        header = request.header("x-tenant-id")
        if header is not None:
            workspace_id = parse_uuid(header)
        elif caller.is_service_key:
            if not caller.workspace_ids:
                raise forbidden("org_scoped_key_requires_workspace")
            workspace_id = caller.workspace_ids[0]
        else:
            workspace_id = caller.default_workspace_id
        workspace = None if workspace_id is None else self._state.workspace(workspace_id)
        if workspace is None or workspace_role(self._state, caller, workspace) is None:
            raise forbidden()
        return workspace


def _uuid_params(params: dict[str, str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    errors = []
    for name, value in params.items():
        one = parse_uuid(value)
        if one is None:
            errors.append(uuid_error(("path", name), value))
        else:
            parsed[name] = one
    if errors:
        raise invalid(errors)
    return parsed

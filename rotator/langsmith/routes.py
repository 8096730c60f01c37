"""The LangSmith operations the client uses; E-numbers follow the API notes the project was designed from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    tenant_scoped: bool = False
    """Workspace resources: they take ``X-Tenant-Id``."""

    @property
    def idempotent(self) -> bool:
        return self.method != "POST"

    def path(self, api_key_id: str | None = None) -> str:
        return self.template.format(api_key_id=api_key_id)


ORG_INFO = Route("GET", "/api/v1/orgs/current/info")
CURRENT_WORKSPACE = Route("GET", "/api/v1/settings", tenant_scoped=True)
WORKSPACES = Route("GET", "/api/v1/workspaces")
ROLES = Route("GET", "/api/v1/orgs/current/roles")
LIST_ORG_SERVICE_KEYS = Route("GET", "/api/v1/orgs/current/service-keys")  # E4
CREATE_ORG_SERVICE_KEY = Route("POST", "/api/v1/orgs/current/service-keys")  # E5
DELETE_ORG_SERVICE_KEY = Route("DELETE", "/api/v1/orgs/current/service-keys/{api_key_id}")  # E6
LIST_PERSONAL_ACCESS_TOKENS = Route("GET", "/api/v1/orgs/current/personal-access-tokens")  # E8
LIST_WORKSPACE_SERVICE_KEYS = Route("GET", "/api/v1/api-key", tenant_scoped=True)  # E1

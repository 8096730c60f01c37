"""X-API-Key authentication and the org/tenant header rules."""

from datetime import timedelta

import httpx
import pytest

from langsmith_sandbox import SandboxState
from langsmith_sandbox.roles import BUILTIN_BY_NAME, ORG_USER, WORKSPACE_EDITOR
from tests.support.orgs import SANDBOX_T0, SmallOrg

pytestmark = pytest.mark.integration

SERVICE_KEYS = "/orgs/current/service-keys"


def test_a_valid_key_authenticates(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    assert sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).status_code == 200


def test_a_missing_key_gets_401(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    response = sandbox_client.get(SERVICE_KEYS, headers={"X-Organization-Id": small_org.org_id})
    assert response.status_code == 401
    assert isinstance(response.json()["detail"], str)


def test_an_unknown_key_gets_401(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    unknown = "lsv2_sk_" + "0" * 32 + "_" + "0" * 10
    response = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers(unknown))
    assert response.status_code == 401


def test_an_expired_key_gets_401_by_the_sandbox_clock(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    key = sandbox_state.add_service_key(small_org.org_id, expires_at=SANDBOX_T0 + timedelta(hours=1))
    assert sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers(key.secret)).status_code == 200
    sandbox_state.clock.advance(timedelta(hours=1))
    response = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers(key.secret))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_deleted_key_gets_401(sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg) -> None:
    key = sandbox_state.add_service_key(small_org.org_id)
    assert sandbox_client.delete(f"{SERVICE_KEYS}/{key.id}", headers=small_org.org_headers()).status_code == 200
    assert sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers(key.secret)).status_code == 401


@pytest.mark.parametrize("name", ["x-api-key", "X-API-KEY", "X-Api-Key"])
def test_header_names_are_case_insensitive(sandbox_client: httpx.Client, small_org: SmallOrg, name: str) -> None:
    headers = {name: small_org.admin.secret, "x-organization-id": small_org.org_id}
    assert sandbox_client.get(SERVICE_KEYS, headers=headers).status_code == 200


def test_successful_auth_sets_last_used_at_to_the_sandbox_clock(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    key = sandbox_state.add_service_key(small_org.org_id, description="watched")
    sandbox_state.clock.advance(timedelta(minutes=5))
    sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers(key.secret))
    listed = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).json()
    watched = next(item for item in listed if item["id"] == key.id)
    assert watched["last_used_at"] == (SANDBOX_T0 + timedelta(minutes=5)).isoformat()


def test_failed_auth_does_not_touch_last_used_at(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    key = sandbox_state.add_service_key(small_org.org_id, expires_at=SANDBOX_T0)
    sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers(key.secret))
    record = sandbox_state.key(key.id)
    assert record is not None
    assert record.last_used_at is None


def test_org_routes_need_x_organization_id(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    response = sandbox_client.get(SERVICE_KEYS, headers={"X-API-Key": small_org.admin.secret})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"type": "missing", "loc": ["header", "x-organization-id"], "msg": "Field required", "input": None}]
    }


@pytest.mark.parametrize("org_id", ["7b0e1d4c-2f4a-4f7e-9d51-8c1f5b3a2e10", "not-a-uuid"])
def test_another_org_id_gets_403(sandbox_client: httpx.Client, small_org: SmallOrg, org_id: str) -> None:
    headers = {"X-API-Key": small_org.admin.secret, "X-Organization-Id": org_id}
    response = sandbox_client.get(SERVICE_KEYS, headers=headers)
    assert (response.status_code, response.json()) == (403, {"error": "Forbidden"})


def test_an_org_scoped_key_needs_x_tenant_id_on_tenant_routes(
    sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    response = sandbox_client.get("/api-key", headers=small_org.tenant_headers())
    assert (response.status_code, response.json()) == (403, {"error": "org_scoped_key_requires_workspace"})
    with_tenant = small_org.tenant_headers(workspace_id=small_org.staging_id)
    assert sandbox_client.get("/api-key", headers=with_tenant).status_code == 200


def test_a_workspace_scoped_key_defaults_to_its_first_workspace(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    key = sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.staging_id, small_org.production_id])
    settings = sandbox_client.get("/settings", headers=small_org.tenant_headers(key.secret))
    assert settings.status_code == 200
    assert settings.json()["id"] == small_org.staging_id
    other = sandbox_client.get("/settings", headers=small_org.tenant_headers(key.secret, small_org.production_id))
    assert other.json()["display_name"] == "production"


def test_a_workspace_outside_the_keys_scope_gets_403(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    key = sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.staging_id])
    response = sandbox_client.get("/api-key", headers=small_org.tenant_headers(key.secret, small_org.production_id))
    assert (response.status_code, response.json()) == (403, {"error": "Forbidden"})


def test_a_workspace_of_another_org_gets_403(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    other_org = sandbox_state.add_org("Globex")
    foreign = sandbox_state.add_workspace(other_org.id, "production")
    response = sandbox_client.get("/settings", headers=small_org.tenant_headers(workspace_id=foreign.id))
    assert response.status_code == 403


def test_an_org_user_key_without_workspace_role_cannot_enter_workspaces(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    plain = sandbox_state.add_service_key(small_org.org_id, org_role_id=BUILTIN_BY_NAME[ORG_USER].id)
    headers = small_org.tenant_headers(plain.secret, small_org.production_id)
    assert sandbox_client.get("/settings", headers=headers).status_code == 403
    editor = sandbox_state.add_service_key(small_org.org_id, role_id=BUILTIN_BY_NAME[WORKSPACE_EDITOR].id)
    headers = small_org.tenant_headers(editor.secret, small_org.production_id)
    assert sandbox_client.get("/settings", headers=headers).status_code == 200


def test_a_pat_defaults_to_its_default_workspace(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    user = sandbox_state.add_user(
        small_org.org_id,
        "alice@acme.example",
        workspace_roles={small_org.production_id: BUILTIN_BY_NAME[WORKSPACE_EDITOR].id},
    )
    pat = sandbox_state.add_pat(user.id, default_workspace_id=small_org.production_id)
    response = sandbox_client.get("/settings", headers=small_org.tenant_headers(pat.secret))
    assert response.json()["id"] == small_org.production_id
    denied = sandbox_client.get("/settings", headers=small_org.tenant_headers(pat.secret, small_org.staging_id))
    assert denied.status_code == 403


def test_a_mismatched_org_header_on_a_tenant_route_gets_403(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    headers = {
        **small_org.tenant_headers(workspace_id=small_org.production_id),
        "X-Organization-Id": "7b0e1d4c-2f4a-4f7e-9d51-8c1f5b3a2e10",
    }
    assert sandbox_client.get("/settings", headers=headers).status_code == 403

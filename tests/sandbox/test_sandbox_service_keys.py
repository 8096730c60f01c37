"""E1-E7: listing, creating, deleting and updating service keys, and who may do it."""

import re

import httpx
import pytest

from langsmith_sandbox import SandboxState
from langsmith_sandbox.roles import (
    BUILTIN_BY_NAME,
    ORG_USER,
    ORGANIZATION_ADMIN,
    ORGANIZATION_OPERATOR,
    ORGANIZATION_VIEWER,
    WORKSPACE_ADMIN,
    WORKSPACE_EDITOR,
    WORKSPACE_VIEWER,
)
from tests.support.orgs import SmallOrg

pytestmark = pytest.mark.integration

SERVICE_KEYS = "/orgs/current/service-keys"
SECRET_SHAPE = re.compile(r"lsv2_sk_[0-9a-f]{32}_[0-9a-f]{10}")
LISTED_FIELDS = {
    "id",
    "short_key",
    "description",
    "created_at",
    "last_used_at",
    "expires_at",
    "read_only",
    "workspace_names",
    "default_workspace_name",
    "role_id",
    "org_role_id",
    "access_scope",
}


def role_id(name: str) -> str:
    return BUILTIN_BY_NAME[name].id


def org_key(state: SandboxState, org: SmallOrg, org_role: str) -> str:
    return state.add_service_key(org.org_id, org_role_id=role_id(org_role)).secret


def test_e4_lists_org_wide_and_workspace_keys_as_a_bare_array(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    scoped = sandbox_state.add_service_key(
        small_org.org_id, workspace_ids=[small_org.production_id, small_org.staging_id], description="ci"
    )
    listed = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).json()
    assert isinstance(listed, list)
    assert [item["id"] for item in listed] == [small_org.admin.id, scoped.id]
    assert all(set(item) == LISTED_FIELDS for item in listed)
    admin, ci = listed
    assert (admin["access_scope"], admin["workspace_names"], admin["org_role_id"]) == (
        "organization",
        None,
        role_id(ORGANIZATION_ADMIN),
    )
    assert ci["access_scope"] == "workspace"
    assert ci["workspace_names"] == ["production", "staging"]
    assert ci["default_workspace_name"] == "production"
    assert (ci["role_id"], ci["org_role_id"]) == (role_id(WORKSPACE_ADMIN), None)


def test_e5_creates_an_org_wide_key_whose_secret_appears_only_in_the_response(
    sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    response = sandbox_client.post(
        SERVICE_KEYS, headers=small_org.org_headers(), json={"description": "new", "workspaces": None}
    )
    assert response.status_code == 200
    created = response.json()
    assert SECRET_SHAPE.fullmatch(created["key"])
    assert created["short_key"] == created["key"][:12] + "..."
    assert (created["access_scope"], created["org_role_id"], created["role_id"]) == (
        "organization",
        role_id(ORG_USER),
        None,
    )
    assert created["expires_at"] is None
    listed = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).json()
    assert all("key" not in item for item in listed)
    assert created["key"] not in sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).text
    new_headers = small_org.org_headers(created["key"])
    assert sandbox_client.get("/orgs/current/info", headers=new_headers).status_code == 200


def test_e5_defaults_the_description(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    created = sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers()).json()
    assert created["description"] == "Default API key"


def test_e5_creates_a_key_scoped_to_several_workspaces_with_a_role(
    sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    body = {
        "description": "shared",
        "workspaces": [small_org.staging_id, small_org.production_id],
        "role_id": role_id(WORKSPACE_EDITOR),
        "expires_at": "2026-03-01T00:00:00Z",
    }
    created = sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json=body).json()
    assert created["workspace_names"] == ["staging", "production"]
    assert (created["access_scope"], created["role_id"], created["org_role_id"]) == (
        "workspace",
        role_id(WORKSPACE_EDITOR),
        None,
    )
    assert created["expires_at"] == "2026-03-01T00:00:00+00:00"


@pytest.mark.parametrize(("read_only", "role"), [(False, WORKSPACE_ADMIN), (True, WORKSPACE_VIEWER)])
def test_e5_default_workspace_role_follows_read_only(
    sandbox_client: httpx.Client, small_org: SmallOrg, read_only: bool, role: str
) -> None:
    body = {"workspaces": [small_org.staging_id], "read_only": read_only}
    created = sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json=body).json()
    assert created["role_id"] == role_id(role)


def test_e6_deletes_and_returns_the_deleted_key(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    doomed = sandbox_state.add_service_key(small_org.org_id, description="doomed")
    response = sandbox_client.delete(f"{SERVICE_KEYS}/{doomed.id}", headers=small_org.org_headers())
    assert response.status_code == 200
    assert response.json()["id"] == doomed.id
    assert response.json()["description"] == "doomed"
    assert "key" not in response.json()
    listed = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).json()
    assert doomed.id not in [item["id"] for item in listed]
    again = sandbox_client.delete(f"{SERVICE_KEYS}/{doomed.id}", headers=small_org.org_headers())
    assert (again.status_code, again.json()) == (404, {"detail": "Not found"})


def test_e6_unknown_id_gets_404_and_a_non_uuid_422(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    unknown = sandbox_client.delete(
        f"{SERVICE_KEYS}/3f6c0d1e-4a3b-4c2d-9e8f-1a2b3c4d5e6f", headers=small_org.org_headers()
    )
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not found"})
    malformed = sandbox_client.delete(f"{SERVICE_KEYS}/not-a-uuid", headers=small_org.org_headers())
    assert malformed.status_code == 422
    (error,) = malformed.json()["detail"]
    assert (error["loc"], error["type"], error["input"]) == (["path", "api_key_id"], "uuid_parsing", "not-a-uuid")


def test_e6_cannot_reach_another_orgs_key(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    other = sandbox_state.add_org("Globex")
    foreign = sandbox_state.add_service_key(other.id)
    response = sandbox_client.delete(f"{SERVICE_KEYS}/{foreign.id}", headers=small_org.org_headers())
    assert response.status_code == 404


@pytest.mark.parametrize("role", [ORGANIZATION_ADMIN, ORGANIZATION_OPERATOR, ORG_USER, ORGANIZATION_VIEWER])
def test_every_org_role_may_list_service_keys(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg, role: str
) -> None:
    secret = org_key(sandbox_state, small_org, role)
    assert sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers(secret)).status_code == 200


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (ORGANIZATION_ADMIN, {"org-wide": 200, "scoped": 200}),
        (ORGANIZATION_OPERATOR, {"org-wide": 403, "scoped": 200}),
        (ORG_USER, {"org-wide": 403, "scoped": 403}),
        (ORGANIZATION_VIEWER, {"org-wide": 403, "scoped": 403}),
    ],
)
def test_who_may_create_service_keys(
    sandbox_client: httpx.Client,
    sandbox_state: SandboxState,
    small_org: SmallOrg,
    role: str,
    expected: dict[str, int],
) -> None:
    headers = small_org.org_headers(org_key(sandbox_state, small_org, role))
    org_wide = sandbox_client.post(SERVICE_KEYS, headers=headers, json={})
    scoped = sandbox_client.post(SERVICE_KEYS, headers=headers, json={"workspaces": [small_org.production_id]})
    assert {"org-wide": org_wide.status_code, "scoped": scoped.status_code} == expected
    for response in (org_wide, scoped):
        if response.status_code == 403:
            assert response.json() == {"error": "Forbidden"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (ORGANIZATION_OPERATOR, {"org-wide": 403, "scoped": 200}),
        (ORG_USER, {"org-wide": 403, "scoped": 403}),
    ],
)
def test_who_may_delete_service_keys(
    sandbox_client: httpx.Client,
    sandbox_state: SandboxState,
    small_org: SmallOrg,
    role: str,
    expected: dict[str, int],
) -> None:
    headers = small_org.org_headers(org_key(sandbox_state, small_org, role))
    wide = sandbox_state.add_service_key(small_org.org_id)
    narrow = sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.staging_id])
    statuses = {
        "org-wide": sandbox_client.delete(f"{SERVICE_KEYS}/{wide.id}", headers=headers).status_code,
        "scoped": sandbox_client.delete(f"{SERVICE_KEYS}/{narrow.id}", headers=headers).status_code,
    }
    assert statuses == expected


def test_a_workspace_admin_manages_keys_of_its_own_workspaces_only(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    workspace_admin = sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.staging_id])
    headers = small_org.org_headers(workspace_admin.secret)
    mine = sandbox_client.post(SERVICE_KEYS, headers=headers, json={"workspaces": [small_org.staging_id]})
    assert mine.status_code == 200
    both = {"workspaces": [small_org.staging_id, small_org.production_id]}
    assert sandbox_client.post(SERVICE_KEYS, headers=headers, json=both).status_code == 403
    assert sandbox_client.post(SERVICE_KEYS, headers=headers, json={}).status_code == 403
    assert sandbox_client.delete(f"{SERVICE_KEYS}/{mine.json()['id']}", headers=headers).status_code == 200


def test_e1_lists_only_workspace_keys_of_the_current_workspace(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    staging = sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.staging_id])
    both = sandbox_state.add_service_key(
        small_org.org_id, workspace_ids=[small_org.production_id, small_org.staging_id]
    )
    sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.production_id])
    listed = sandbox_client.get("/api-key", headers=small_org.tenant_headers(workspace_id=small_org.staging_id))
    assert [item["id"] for item in listed.json()] == [staging.id, both.id]


def test_e2_creates_a_key_in_the_current_workspace(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    workspace_admin = sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.staging_id])
    response = sandbox_client.post(
        "/api-key", headers=small_org.tenant_headers(workspace_admin.secret), json={"description": "made here"}
    )
    assert response.status_code == 200
    created = response.json()
    assert SECRET_SHAPE.fullmatch(created["key"])
    assert (created["workspace_names"], created["access_scope"]) == (["staging"], "workspace")
    assert (created["role_id"], created["org_role_id"]) == (role_id(WORKSPACE_ADMIN), None)


def test_e2_refuses_other_scopes(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    headers = small_org.tenant_headers(workspace_id=small_org.staging_id)
    body = {"workspaces": [small_org.production_id], "org_role_id": role_id(ORG_USER)}
    response = sandbox_client.post("/api-key", headers=headers, json=body)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", "workspaces"], ["body", "org_role_id"]]


def test_e2_and_e3_need_workspace_admin(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    editor = sandbox_state.add_service_key(
        small_org.org_id, workspace_ids=[small_org.staging_id], role_id=role_id(WORKSPACE_EDITOR)
    )
    victim = sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.staging_id])
    headers = small_org.tenant_headers(editor.secret)
    assert sandbox_client.get("/api-key", headers=headers).status_code == 200
    assert sandbox_client.post("/api-key", headers=headers, json={}).status_code == 403
    assert sandbox_client.delete(f"/api-key/{victim.id}", headers=headers).status_code == 403


def test_e3_deletes_only_keys_of_the_current_workspace(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    staging = sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.staging_id])
    production = sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.production_id])
    headers = small_org.tenant_headers(workspace_id=small_org.staging_id)
    assert sandbox_client.delete(f"/api-key/{production.id}", headers=headers).status_code == 404
    assert sandbox_client.delete(f"/api-key/{small_org.admin.id}", headers=headers).status_code == 404
    deleted = sandbox_client.delete(f"/api-key/{staging.id}", headers=headers)
    assert (deleted.status_code, deleted.json()["id"]) == (200, staging.id)
    assert sandbox_client.delete("/api-key/xyz", headers=headers).status_code == 422


def test_e7_updates_roles_in_place(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    key = sandbox_state.add_service_key(small_org.org_id)
    body = {"org_role_id": role_id(ORGANIZATION_VIEWER), "role_id": role_id(WORKSPACE_VIEWER)}
    updated = sandbox_client.patch(f"{SERVICE_KEYS}/{key.id}", headers=small_org.org_headers(), json=body)
    assert updated.status_code == 200
    assert (updated.json()["org_role_id"], updated.json()["role_id"]) == tuple(body.values())


def test_e7_refuses_org_roles_on_workspace_keys_and_non_admins(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    scoped = sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.staging_id])
    body = {"org_role_id": role_id(ORG_USER)}
    path = f"{SERVICE_KEYS}/{scoped.id}"
    assert sandbox_client.patch(path, headers=small_org.org_headers(), json=body).status_code == 422
    operator = small_org.org_headers(org_key(sandbox_state, small_org, ORGANIZATION_OPERATOR))
    assert sandbox_client.patch(path, headers=operator, json={"role_id": role_id(WORKSPACE_VIEWER)}).status_code == 403


def test_custom_roles_of_the_org_are_accepted_and_others_refused(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    auditor = sandbox_state.add_role(
        small_org.org_id, "Auditor", access_scope="workspace", permissions=["workspaces:read"]
    )
    other_org = sandbox_state.add_org("Globex")
    foreign = sandbox_state.add_role(other_org.id, "Auditor", access_scope="workspace", permissions=[])
    body = {"workspaces": [small_org.staging_id], "role_id": auditor.id}
    created = sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json=body)
    assert (created.status_code, created.json()["role_id"]) == (200, auditor.id)
    refused = sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json={**body, "role_id": foreign.id})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "role_id"]

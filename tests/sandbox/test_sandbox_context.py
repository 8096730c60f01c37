"""Org info, workspaces, roles and settings: what a client reads to learn its context."""

import httpx
import pytest

from langsmith_sandbox import SandboxState
from langsmith_sandbox.roles import BUILTIN_BY_NAME, ORG_USER, WORKSPACE_VIEWER
from tests.support.orgs import SmallOrg

pytestmark = pytest.mark.integration


def test_org_info_reports_the_expiry_limits(sandbox_client: httpx.Client, sandbox_state: SandboxState) -> None:
    org = sandbox_state.add_org(
        "Limits", max_api_key_expiry_days=90, max_pat_expiry_days=30, pat_creation_disabled=True
    )
    key = sandbox_state.add_service_key(org.id)
    info = sandbox_client.get("/orgs/current/info", headers={"X-API-Key": key.secret, "X-Organization-Id": org.id})
    assert info.status_code == 200
    assert info.json() == {
        "id": org.id,
        "display_name": "Limits",
        "is_personal": False,
        "disabled": False,
        "pat_creation_disabled": True,
        "max_api_key_expiry_days": 90,
        "max_pat_expiry_days": 30,
        "max_service_key_expiry_days": None,
    }


def test_workspaces_lists_those_the_key_can_enter_with_its_role(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    twin = sandbox_state.add_workspace(small_org.org_id, "staging")  # display names may repeat
    admin_view = sandbox_client.get("/workspaces", headers=small_org.org_headers()).json()
    assert [(w["id"], w["display_name"], w["role_name"]) for w in admin_view] == [
        (small_org.production_id, "production", "WORKSPACE_ADMIN"),
        (small_org.staging_id, "staging", "WORKSPACE_ADMIN"),
        (twin.id, "staging", "WORKSPACE_ADMIN"),
    ]
    assert all(w["organization_id"] == small_org.org_id and not w["is_deleted"] for w in admin_view)
    viewer = sandbox_state.add_service_key(
        small_org.org_id, workspace_ids=[twin.id], role_id=BUILTIN_BY_NAME[WORKSPACE_VIEWER].id
    )
    (only,) = sandbox_client.get("/workspaces", headers=small_org.org_headers(viewer.secret)).json()
    assert (only["id"], only["role_id"]) == (twin.id, BUILTIN_BY_NAME[WORKSPACE_VIEWER].id)
    assert "workspaces:manage" not in only["permissions"]


def test_roles_lists_built_in_and_the_orgs_custom_roles(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    custom = sandbox_state.add_role(
        small_org.org_id, "Auditor", access_scope="workspace", permissions=["workspaces:read"]
    )
    sandbox_state.add_role(sandbox_state.add_org("Globex").id, "Theirs", access_scope="workspace", permissions=[])
    roles = sandbox_client.get("/orgs/current/roles", headers=small_org.org_headers()).json()
    assert {(r["display_name"], r["name"], r["access_scope"]) for r in roles} == {
        ("Organization Admin", "ORGANIZATION_ADMIN", "organization"),
        ("Organization Operator", "ORGANIZATION_OPERATOR", "organization"),
        ("Organization User", "ORG_USER", "organization"),
        ("Organization Viewer", "ORGANIZATION_VIEWER", "organization"),
        ("Admin", "WORKSPACE_ADMIN", "workspace"),
        ("Editor", "WORKSPACE_EDITOR", "workspace"),
        ("Viewer", "WORKSPACE_VIEWER", "workspace"),
        ("Auditor", "CUSTOM", "workspace"),
    }
    by_id = {r["id"]: r for r in roles}
    assert by_id[custom.id]["organization_id"] == small_org.org_id
    assert by_id[BUILTIN_BY_NAME[ORG_USER].id]["organization_id"] is None


def test_settings_returns_the_current_workspace(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    response = sandbox_client.get("/settings", headers=small_org.tenant_headers(workspace_id=small_org.staging_id))
    assert response.status_code == 200
    assert set(response.json()) == {"id", "display_name", "created_at", "tenant_handle"}
    assert (response.json()["id"], response.json()["tenant_handle"]) == (small_org.staging_id, "staging")

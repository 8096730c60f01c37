"""E8-E10: personal access tokens belong to a user, who alone lists, creates and deletes them."""

import re
from datetime import timedelta

import httpx
import pytest

from langsmith_sandbox import SandboxState, User
from langsmith_sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_VIEWER, WORKSPACE_EDITOR
from tests.support.orgs import SANDBOX_T0, SmallOrg

pytestmark = pytest.mark.integration

PATS = "/orgs/current/personal-access-tokens"


def member(state: SandboxState, org: SmallOrg, email: str, org_role: str | None = None) -> User:
    return state.add_user(
        org.org_id,
        email,
        org_role_id=None if org_role is None else BUILTIN_BY_NAME[org_role].id,
        workspace_roles={org.staging_id: BUILTIN_BY_NAME[WORKSPACE_EDITOR].id},
    )


def test_e8_lists_only_the_callers_own_pats(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    alice = member(sandbox_state, small_org, "alice@acme.example")
    bob = member(sandbox_state, small_org, "bob@acme.example")
    laptop = sandbox_state.add_pat(alice.id, default_workspace_id=small_org.staging_id, description="laptop")
    sandbox_state.add_pat(bob.id)
    listed = sandbox_client.get(PATS, headers=small_org.org_headers(laptop.secret))
    assert listed.status_code == 200
    (only,) = listed.json()
    assert (only["id"], only["description"], only["default_workspace_name"]) == (laptop.id, "laptop", "staging")
    assert only["access_scope"] is None
    assert "key" not in only


def test_e8_gives_a_service_key_an_empty_list(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    response = sandbox_client.get(PATS, headers=small_org.org_headers())
    assert (response.status_code, response.json()) == (200, [])


def test_an_org_viewer_may_not_touch_pats(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    viewer = member(sandbox_state, small_org, "vera@acme.example", ORGANIZATION_VIEWER)
    pat = sandbox_state.add_pat(viewer.id)
    headers = small_org.org_headers(pat.secret)
    for response in (
        sandbox_client.get(PATS, headers=headers),
        sandbox_client.post(PATS, headers=headers, json={}),
        sandbox_client.delete(f"{PATS}/{pat.id}", headers=headers),
    ):
        assert (response.status_code, response.json()) == (403, {"error": "Forbidden"})


def test_e9_creates_a_pat_for_the_caller(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    alice = member(sandbox_state, small_org, "alice@acme.example")
    first = sandbox_state.add_pat(alice.id)
    body = {"description": "ci", "expires_at": (SANDBOX_T0 + timedelta(days=30)).isoformat()}
    response = sandbox_client.post(PATS, headers=small_org.org_headers(first.secret), json=body)
    assert response.status_code == 200
    created = response.json()
    assert re.fullmatch(r"lsv2_pt_[0-9a-f]{32}_[0-9a-f]{10}", created["key"])
    assert created["short_key"].startswith("lsv2_pt_")
    assert created["default_workspace_name"] == "staging"  # the only workspace alice can enter
    listed = sandbox_client.get(PATS, headers=small_org.org_headers(created["key"])).json()
    assert {item["id"] for item in listed} == {first.id, created["id"]}


def test_e9_refuses_service_keys_and_service_key_fields(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    assert sandbox_client.post(PATS, headers=small_org.org_headers(), json={}).status_code == 403
    pat = sandbox_state.add_pat(member(sandbox_state, small_org, "alice@acme.example").id)
    body = {"workspaces": [small_org.staging_id], "default_workspace_id": small_org.production_id}
    response = sandbox_client.post(PATS, headers=small_org.org_headers(pat.secret), json=body)
    assert response.status_code == 422
    locs = [error["loc"] for error in response.json()["detail"]]
    assert locs == [["body", "workspaces"], ["body", "default_workspace_id"]]


def test_e9_honours_pat_creation_disabled(sandbox_client: httpx.Client, sandbox_state: SandboxState) -> None:
    org = sandbox_state.add_org("Strict", pat_creation_disabled=True)
    pat = sandbox_state.add_pat(sandbox_state.add_user(org.id, "a@strict.example").id)
    headers = {"X-API-Key": pat.secret, "X-Organization-Id": org.id}
    assert sandbox_client.post(PATS, headers=headers, json={}).status_code == 403
    assert sandbox_client.get(PATS, headers=headers).status_code == 200


def test_e9_enforces_max_pat_expiry_days(sandbox_client: httpx.Client, sandbox_state: SandboxState) -> None:
    org = sandbox_state.add_org("Strict", max_pat_expiry_days=30, max_service_key_expiry_days=400)
    pat = sandbox_state.add_pat(sandbox_state.add_user(org.id, "a@strict.example").id)
    headers = {"X-API-Key": pat.secret, "X-Organization-Id": org.id}

    def create(days: int) -> int:
        expires_at = (SANDBOX_T0 + timedelta(days=days)).isoformat()
        return sandbox_client.post(PATS, headers=headers, json={"expires_at": expires_at}).status_code

    assert (create(31), create(30)) == (422, 200)
    assert sandbox_client.post(PATS, headers=headers, json={}).status_code == 422  # "never" exceeds any limit


def test_e10_deletes_own_pats_only(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    alice = member(sandbox_state, small_org, "alice@acme.example")
    bob = member(sandbox_state, small_org, "bob@acme.example")
    alices = sandbox_state.add_pat(alice.id)
    spare = sandbox_state.add_pat(alice.id)
    bobs = sandbox_state.add_pat(bob.id)
    headers = small_org.org_headers(alices.secret)
    assert sandbox_client.delete(f"{PATS}/{bobs.id}", headers=headers).status_code == 404
    deleted = sandbox_client.delete(f"{PATS}/{spare.id}", headers=headers)
    assert (deleted.status_code, deleted.json()["id"]) == (200, spare.id)
    assert sandbox_client.delete(f"{PATS}/{spare.id}", headers=headers).status_code == 404
    assert sandbox_client.delete(f"{PATS}/nope", headers=headers).json()["detail"][0]["loc"] == ["path", "pat_id"]


def test_e10_refuses_service_keys(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    response = sandbox_client.delete(f"{PATS}/{small_org.admin.id}", headers=small_org.org_headers())
    assert response.status_code == 403


def test_a_pat_acts_with_its_users_roles(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    alice = member(sandbox_state, small_org, "alice@acme.example")  # Organization User, Editor of staging
    pat = sandbox_state.add_pat(alice.id)
    service_keys = "/orgs/current/service-keys"
    assert sandbox_client.get(service_keys, headers=small_org.org_headers(pat.secret)).status_code == 200
    assert sandbox_client.post(service_keys, headers=small_org.org_headers(pat.secret), json={}).status_code == 403
    workspaces = sandbox_client.get("/workspaces", headers=small_org.org_headers(pat.secret)).json()
    assert [(w["display_name"], w["role_name"]) for w in workspaces] == [("staging", "WORKSPACE_EDITOR")]

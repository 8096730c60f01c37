"""Request validation: FastAPI-style 422 bodies, expiry limits, unknown paths and methods."""

from datetime import timedelta

import httpx
import pytest

from langsmith_sandbox import SandboxState
from langsmith_sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_ADMIN, WORKSPACE_ADMIN
from tests.support.orgs import SANDBOX_T0, SmallOrg

pytestmark = pytest.mark.integration

SERVICE_KEYS = "/orgs/current/service-keys"


def errors_of(response: httpx.Response) -> list[tuple[list[object], str]]:
    assert response.status_code == 422
    return [(error["loc"], error["type"]) for error in response.json()["detail"]]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", [(["body", 1], "json_invalid")]),
        (b"[1, 2]", [(["body"], "model_attributes_type")]),
        (b'"text"', [(["body"], "model_attributes_type")]),
    ],
)
def test_a_body_that_is_not_a_json_object_gets_422(
    sandbox_client: httpx.Client, small_org: SmallOrg, content: bytes, expected: list[tuple[list[object], str]]
) -> None:
    headers = {**small_org.org_headers(), "Content-Type": "application/json"}
    assert errors_of(sandbox_client.post(SERVICE_KEYS, headers=headers, content=content)) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"expires_at": "next tuesday"}, [(["body", "expires_at"], "datetime_parsing")]),
        ({"expires_at": "2026-03-01T00:00:00"}, [(["body", "expires_at"], "timezone_aware")]),
        ({"expires_at": 1767225600}, [(["body", "expires_at"], "datetime_type")]),
        ({"expires_at": "2026-01-15T11:59:59Z"}, [(["body", "expires_at"], "value_error")]),
        (
            {"description": 7, "read_only": "yes"},
            [(["body", "description"], "string_type"), (["body", "read_only"], "bool_type")],
        ),
        ({"role_id": "admin"}, [(["body", "role_id"], "uuid_parsing")]),
        ({"role_id": "0b9f5d1c-5d9e-4a38-8f1d-2c7a1e6b3f40"}, [(["body", "role_id"], "value_error")]),
        ({"workspaces": "production"}, [(["body", "workspaces"], "list_type")]),
        (
            {"workspaces": ["x", 3]},
            [(["body", "workspaces", 0], "uuid_parsing"), (["body", "workspaces", 1], "uuid_parsing")],
        ),
        ({"workspaces": []}, [(["body", "workspaces"], "value_error")]),
        ({"workspaces": ["0b9f5d1c-5d9e-4a38-8f1d-2c7a1e6b3f40"]}, [(["body", "workspaces", 0], "value_error")]),
        ({"org_role_id": BUILTIN_BY_NAME[WORKSPACE_ADMIN].id}, [(["body", "org_role_id"], "value_error")]),
        ({"role_id": BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id}, [(["body", "role_id"], "value_error")]),
    ],
)
def test_invalid_create_bodies_get_422_naming_the_field(
    sandbox_client: httpx.Client, small_org: SmallOrg, body: dict[str, object], expected: list[tuple[list[object], str]]
) -> None:
    assert errors_of(sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json=body)) == expected


def test_a_workspace_of_another_org_is_refused(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    foreign = sandbox_state.add_workspace(sandbox_state.add_org("Globex").id, "production")
    body = {"workspaces": [small_org.production_id, foreign.id]}
    response = sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json=body)
    assert errors_of(response) == [(["body", "workspaces", 1], "value_error")]


def test_a_workspace_listed_twice_is_refused(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    body = {"workspaces": [small_org.staging_id, small_org.staging_id]}
    response = sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json=body)
    assert errors_of(response) == [(["body", "workspaces", 1], "value_error")]


def test_unknown_body_fields_are_ignored(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    response = sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json={"colour": "blue"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("max_service_key_days", "max_api_key_days"),
    [(90, None), (None, 90), (90, 10)],
    ids=["service-key-limit", "api-key-limit-as-fallback", "service-key-limit-wins"],
)
def test_service_key_expiry_is_capped_by_the_org(
    sandbox_client: httpx.Client,
    sandbox_state: SandboxState,
    max_service_key_days: int | None,
    max_api_key_days: int | None,
) -> None:
    org = sandbox_state.add_org(
        "Capped", max_service_key_expiry_days=max_service_key_days, max_api_key_expiry_days=max_api_key_days
    )
    admin = sandbox_state.add_service_key(org.id, org_role_id=BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id)
    headers = {"X-API-Key": admin.secret, "X-Organization-Id": org.id}

    def create(expires_at: str | None) -> httpx.Response:
        return sandbox_client.post(SERVICE_KEYS, headers=headers, json={"expires_at": expires_at})

    at_limit = create((SANDBOX_T0 + timedelta(days=90)).isoformat())
    assert at_limit.status_code == 200
    beyond = create((SANDBOX_T0 + timedelta(days=90, seconds=1)).isoformat())
    assert errors_of(beyond) == [(["body", "expires_at"], "value_error")]
    assert "90 days" in beyond.json()["detail"][0]["msg"]
    assert errors_of(create(None)) == [(["body", "expires_at"], "value_error")]


def test_without_limits_a_key_may_never_expire(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    far = (SANDBOX_T0 + timedelta(days=3650)).isoformat()
    for body in ({}, {"expires_at": None}, {"expires_at": far}):
        assert sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json=body).status_code == 200


def test_a_refused_create_creates_nothing(
    sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    before = len(sandbox_state.all_keys())
    sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json={"expires_at": "yesterday"})
    assert len(sandbox_state.all_keys()) == before


def test_unknown_paths_get_404_and_wrong_methods_405(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    unknown = sandbox_client.get("/orgs/current/nothing", headers=small_org.org_headers())
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not Found"})
    assert sandbox_client.get("/api-key/", headers=small_org.org_headers()).status_code == 404
    unprefixed = httpx.get(str(sandbox_client.base_url).removesuffix("/api/v1/") + "/api-key")
    assert unprefixed.status_code == 404
    wrong_method = sandbox_client.put(SERVICE_KEYS, headers=small_org.org_headers())
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"detail": "Method Not Allowed"})


def test_auth_comes_before_path_validation(sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    response = sandbox_client.delete(f"{SERVICE_KEYS}/not-a-uuid", headers={"X-Organization-Id": small_org.org_id})
    assert response.status_code == 401

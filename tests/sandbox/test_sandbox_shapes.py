"""Body effects of fault rules: older response shapes (omit_fields) and inconsistent lists (hide_ids)."""

from collections.abc import Iterator

import httpx
import pytest

from langsmith_sandbox import FaultRule, SandboxServer, SandboxState
from tests.support.orgs import SmallOrg

SERVICE_KEYS = "/orgs/current/service-keys"
SERVICE_KEYS_PATH = "/api/v1" + SERVICE_KEYS
NEW_FIELDS = ["role_id", "org_role_id", "access_scope"]
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


def without(item: dict[str, object], names: list[str]) -> dict[str, object]:
    return {name: value for name, value in item.items() if name not in names}


# ---- unit: the rule itself ---------------------------------------------------------------------------


def test_reshape_omits_fields_from_each_listed_object_and_from_a_single_object() -> None:
    rule = FaultRule(omit_fields=["role_id", "key"])
    listed = [{"id": "a", "role_id": "r", "x": 1}, {"id": "b", "x": 2}, "not an object"]
    assert rule.reshape(listed) == [{"id": "a", "x": 1}, {"id": "b", "x": 2}, "not an object"]
    assert rule.reshape({"id": "a", "role_id": "r", "key": "secret"}) == {"id": "a"}
    assert listed[0] == {"id": "a", "role_id": "r", "x": 1}  # a copy, not an edit


def test_reshape_hides_listed_ids_from_arrays_only() -> None:
    rule = FaultRule(hide_ids=["b"])
    assert rule.reshape([{"id": "a"}, {"id": "b"}, {"id": "c"}]) == [{"id": "a"}, {"id": "c"}]
    assert rule.reshape({"id": "b", "x": 1}) == {"id": "b", "x": 1}


def test_hide_ids_looks_at_ids_before_omit_fields_removes_them() -> None:
    rule = FaultRule(omit_fields=["id"], hide_ids=["b"])
    assert rule.reshape([{"id": "a", "x": 1}, {"id": "b", "x": 2}]) == [{"x": 1}]


def test_the_rule_keeps_its_own_copy_of_the_lists() -> None:
    names = ["role_id"]
    rule = FaultRule(omit_fields=names)
    names.append("id")
    assert rule.omit_fields == ["role_id"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"omit_fields": "role_id"}, "omit_fields.*wrong type"),
        ({"omit_fields": {"role_id": True}}, "omit_fields.*wrong type"),
        ({"omit_fields": ["role_id", 3]}, "omit_fields.*item 1 is int"),
        ({"omit_fields": []}, "omit_fields.*at least one"),
        ({"hide_ids": "3f6c0d1e"}, "hide_ids.*wrong type"),
        ({"hide_ids": [None]}, "hide_ids.*item 0 is NoneType"),
        ({"hide_ids": ["a"], "status": 500}, "contradict"),
        ({"omit_fields": ["role_id"], "drop_connection": True}, "contradict"),
        ({"omit_fields": ["role_id"], "malformed_body": "<html>"}, "contradict"),
        ({"path": "/api", "omit_fields": None, "hide_ids": None}, "needs an effect"),
    ],
)
def test_invalid_body_effects_are_refused_with_a_reason(data: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        FaultRule.from_json(data)


def test_body_effects_are_effects_on_their_own_and_round_trip_through_json() -> None:
    for rule in (
        FaultRule(path=SERVICE_KEYS_PATH, omit_fields=NEW_FIELDS),
        FaultRule(path=SERVICE_KEYS_PATH, method="GET", hide_ids=["k1"], times=1),
        FaultRule(path=r"/service-keys$", regex=True, omit_fields=["expires_at"], latency_seconds=0.5),
    ):
        data = rule.to_json()
        assert data["omit_fields"] == rule.omit_fields
        assert data["hide_ids"] == rule.hide_ids
        assert FaultRule.from_json(data) == rule


# ---- integration: over HTTP --------------------------------------------------------------------------


@pytest.mark.integration
def test_omit_fields_sends_an_older_list_shape_for_its_times_only(
    sandbox: SandboxServer, sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    sandbox_state.add_service_key(small_org.org_id, workspace_ids=[small_org.production_id], description="ci")
    sandbox.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, method="GET", omit_fields=NEW_FIELDS, times=1))
    old = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers())
    whole = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers())
    assert (old.status_code, whole.status_code) == (200, 200)
    assert len(old.json()) == 2
    assert all(set(item) == LISTED_FIELDS - set(NEW_FIELDS) for item in old.json())
    assert all(set(item) == LISTED_FIELDS for item in whole.json())
    assert old.json() == [without(item, NEW_FIELDS) for item in whole.json()]


@pytest.mark.integration
def test_omit_fields_on_create_keeps_the_secret_and_the_key_is_created(
    sandbox: SandboxServer, sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    omitted = [*NEW_FIELDS, "expires_at", "workspace_names", "last_used_at"]
    sandbox.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, method="POST", omit_fields=omitted))
    created = sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json={"description": "old shape"})
    assert created.status_code == 200
    body = created.json()
    assert set(body) == LISTED_FIELDS - set(omitted) | {"key"}
    assert body["key"].startswith("lsv2_sk_")
    assert body["description"] == "old shape"
    listed = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).json()
    (new,) = [item for item in listed if item["id"] == body["id"]]
    assert set(new) == LISTED_FIELDS
    # the created key works: the secret the reshaped answer carried is the real one
    assert sandbox_client.get("/orgs/current/info", headers=small_org.org_headers(body["key"])).status_code == 200


@pytest.mark.integration
def test_omit_fields_on_delete_trims_the_deleted_key_object(
    sandbox: SandboxServer, sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    doomed = sandbox_state.add_service_key(small_org.org_id, description="doomed")
    sandbox.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH + "/", method="DELETE", omit_fields=["access_scope"]))
    deleted = sandbox_client.delete(f"{SERVICE_KEYS}/{doomed.id}", headers=small_org.org_headers())
    assert deleted.status_code == 200
    assert deleted.json()["id"] == doomed.id
    assert set(deleted.json()) == LISTED_FIELDS - {"access_scope"}


@pytest.mark.integration
def test_hide_ids_hides_exactly_that_key_from_one_list(
    sandbox: SandboxServer, sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    hidden = sandbox_state.add_service_key(small_org.org_id, description="hidden")
    shown = sandbox_state.add_service_key(small_org.org_id, description="shown")
    sandbox.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, method="GET", hide_ids=[hidden.id], times=1))
    stale = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).json()
    fresh = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).json()
    assert [item["id"] for item in stale] == [small_org.admin.id, shown.id]
    assert [item["id"] for item in fresh] == [small_org.admin.id, hidden.id, shown.id]
    assert stale == [item for item in fresh if item["id"] != hidden.id]
    assert sandbox_state.key(hidden.id) is not None


@pytest.mark.integration
def test_an_error_answer_passes_through_a_body_effect_untouched(
    sandbox: SandboxServer, sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    wrong = small_org.org_headers("lsv2_sk_" + "0" * 32 + "_" + "0" * 10)
    plain = sandbox_client.get(SERVICE_KEYS, headers=wrong)
    assert plain.status_code == 401
    sandbox.state.faults.add(FaultRule(path="/api/v1/", omit_fields=["detail", "error"], hide_ids=["x"]))
    faulted = sandbox_client.get(SERVICE_KEYS, headers=wrong)
    assert faulted.status_code == 401
    assert faulted.json() == plain.json()
    assert faulted.json()  # the error body is not empty: there was something to remove


@pytest.mark.integration
def test_a_body_effect_with_latency_delays_and_reshapes(
    sandbox: SandboxServer, sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    sandbox.state.faults.add(
        FaultRule(path=SERVICE_KEYS_PATH, omit_fields=["role_id"], latency_seconds=5, when="after", times=1)
    )
    with pytest.raises(httpx.ReadTimeout):
        sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers(), timeout=0.1)
    assert "role_id" in sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).json()[0]


@pytest.fixture
def control(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url + "/_sandbox", timeout=5) as client:
        yield client


@pytest.mark.integration
def test_the_control_api_takes_body_effects_as_json(
    control: httpx.Client, sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    hidden = sandbox_state.add_service_key(small_org.org_id, description="hidden")
    added = control.post(
        "/faults",
        json={"path": SERVICE_KEYS_PATH, "method": "GET", "omit_fields": NEW_FIELDS, "hide_ids": [hidden.id]},
    )
    assert added.status_code == 201
    assert (added.json()["omit_fields"], added.json()["hide_ids"]) == (NEW_FIELDS, [hidden.id])
    (listed,) = control.get("/faults").json()
    assert (listed["omit_fields"], listed["hide_ids"]) == (NEW_FIELDS, [hidden.id])
    (admin,) = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).json()
    assert admin["id"] == small_org.admin.id
    assert not set(NEW_FIELDS) & set(admin)


@pytest.mark.integration
@pytest.mark.parametrize(
    "body",
    [
        {"omit_fields": "role_id"},
        {"hide_ids": [1]},
        {"omit_fields": ["role_id"], "status": 503},
    ],
)
def test_the_control_api_refuses_bad_body_effects(control: httpx.Client, body: dict[str, object]) -> None:
    refused = control.post("/faults", json=body)
    assert refused.status_code == 400
    assert "invalid fault" in refused.json()["detail"]
    assert control.get("/faults").json() == []

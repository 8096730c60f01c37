"""The /_sandbox control API that out-of-process tests drive."""

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from langsmith_sandbox import SandboxServer
from tests.support.orgs import SANDBOX_T0, SmallOrg

pytestmark = pytest.mark.integration

SEED = """
orgs:
  - name: Initech
    workspaces: [{name: main}]
    service_keys:
      - {name: ops, org_role: Organization Admin, expires_in: 30d, reveal: true}
      - {name: app, workspaces: [main], created_ago: 10d}
"""


@pytest.fixture
def control(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url + "/_sandbox", timeout=5) as client:
        yield client


def test_the_clock_can_be_read_set_advanced_and_released(control: httpx.Client) -> None:
    assert control.get("/clock").json() == {"now": SANDBOX_T0.isoformat(), "frozen": True}
    later = SANDBOX_T0 + timedelta(days=3)
    assert control.post("/clock", json={"now": later.isoformat()}).json()["now"] == later.isoformat()
    advanced = control.post("/clock", json={"advance_seconds": 90}).json()
    assert advanced["now"] == (later + timedelta(seconds=90)).isoformat()
    assert control.post("/clock", json={"real": True}).json()["frozen"] is False


@pytest.mark.parametrize(
    "body",
    [{}, {"now": "2026-01-15T12:00:00"}, {"now": "soon"}, {"advance_seconds": "9"}, {"now": "x", "real": True}],
)
def test_bad_clock_requests_get_400(control: httpx.Client, body: dict[str, object]) -> None:
    response = control.post("/clock", json=body)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_advancing_the_clock_expires_keys(
    control: httpx.Client, sandbox_client: httpx.Client, sandbox: SandboxServer, small_org: SmallOrg
) -> None:
    key = sandbox.state.add_service_key(small_org.org_id, expires_at=SANDBOX_T0 + timedelta(days=1))
    headers = small_org.org_headers(key.secret)
    assert sandbox_client.get("/orgs/current/info", headers=headers).status_code == 200
    control.post("/clock", json={"advance_seconds": 86400})
    assert sandbox_client.get("/orgs/current/info", headers=headers).status_code == 401


def test_faults_can_be_added_listed_removed_and_cleared(
    control: httpx.Client, sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    added = control.post("/faults", json={"path": "/api/v1/orgs", "status": 429, "retry_after": 2, "times": 3})
    assert added.status_code == 201
    fault_id = added.json()["id"]
    assert sandbox_client.get("/orgs/current/info", headers=small_org.org_headers()).status_code == 429
    (listed,) = control.get("/faults").json()
    assert (listed["id"], listed["remaining"], listed["status"]) == (fault_id, 2, 429)
    assert control.delete(f"/faults/{fault_id}").status_code == 200
    assert control.delete(f"/faults/{fault_id}").status_code == 404
    control.post("/faults", json={"path": "/api", "drop_connection": True})
    assert control.delete("/faults").json() == []
    assert control.get("/faults").json() == []
    assert sandbox_client.get("/orgs/current/info", headers=small_org.org_headers()).status_code == 200


@pytest.mark.parametrize("body", [b"[]", b"{bad", b'{"status": 429, "colour": 1}', b'{"path": "/api"}'])
def test_bad_faults_get_400(control: httpx.Client, body: bytes) -> None:
    assert control.post("/faults", content=body).status_code == 400


def test_seeding_over_http_reveals_marked_secrets(
    control: httpx.Client, sandbox_client: httpx.Client, sandbox: SandboxServer
) -> None:
    response = control.post("/seed", content=SEED, headers={"Content-Type": "application/yaml"})
    assert response.status_code == 201
    result = response.json()
    assert set(result["key_ids"]) == {"ops", "app"}
    assert set(result["revealed"]) == {"ops"}
    ops = result["revealed"]["ops"]
    assert ops["organization_id"] == result["org_ids"]["Initech"]
    headers = {"X-API-Key": ops["secret"], "X-Organization-Id": ops["organization_id"]}
    listed = sandbox_client.get("/orgs/current/service-keys", headers=headers).json()
    assert {item["description"] for item in listed} == {"ops", "app"}


def test_a_json_seed_works_too(control: httpx.Client) -> None:
    assert control.post("/seed", json={"orgs": [{"name": "Json Inc"}]}).json()["org_ids"].keys() == {"Json Inc"}


def test_a_bad_seed_gets_400_and_changes_nothing(control: httpx.Client, sandbox: SandboxServer) -> None:
    bad = SEED.replace("expires_in: 30d", "expires_in: 30 days")
    response = control.post("/seed", content=bad)
    assert response.status_code == 400
    assert "service_keys[0].expires_in" in response.json()["detail"]
    assert sandbox.state.all_keys() == []


def test_keys_lists_everything_but_secrets_including_deleted_keys(
    control: httpx.Client, sandbox_client: httpx.Client, sandbox: SandboxServer, small_org: SmallOrg
) -> None:
    doomed = sandbox.state.add_service_key(small_org.org_id, workspace_ids=[small_org.staging_id])
    sandbox_client.delete(f"/orgs/current/service-keys/{doomed.id}", headers=small_org.org_headers())
    response = control.get("/keys")
    assert small_org.admin.secret not in response.text
    assert doomed.secret not in response.text
    admin, deleted = response.json()
    assert admin["secret_sha256"] == hashlib.sha256(small_org.admin.secret.encode()).hexdigest()
    assert admin["requests"] == {"DELETE /api/v1/orgs/current/service-keys/{api_key_id}": 1}
    assert admin["deleted_at"] is None
    assert (admin["kind"], admin["organization_id"], admin["access_scope"]) == (
        "service_key",
        small_org.org_id,
        "organization",
    )
    assert deleted["deleted_at"] == SANDBOX_T0.isoformat()
    assert (deleted["workspace_ids"], deleted["role_id"]) == (
        [small_org.staging_id],
        sandbox.state.all_keys()[1].role_id,
    )


def test_requests_counts_api_calls_by_route_and_status(
    control: httpx.Client, sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    sandbox_client.get("/orgs/current/info", headers=small_org.org_headers())
    sandbox_client.get("/orgs/current/info")
    sandbox_client.get("/nowhere")
    control.get("/clock")
    counts = control.get("/requests").json()
    assert counts == {
        "total": 3,
        "by_route": {"GET /api/v1/orgs/current/info": 2, "unmatched": 1},
        "by_status": {"200": 1, "401": 1, "404": 1},
    }


def test_an_unknown_control_route_gets_404(control: httpx.Client) -> None:
    assert control.get("/nothing").status_code == 404

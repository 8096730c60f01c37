"""Fault rules: matching and expiry (unit), and their effect over HTTP (integration)."""

import time

import httpx
import pytest

from langsmith_sandbox import FaultRule, SandboxServer, SandboxState
from langsmith_sandbox.faults import FaultInjector
from tests.support.orgs import SmallOrg

SERVICE_KEYS = "/orgs/current/service-keys"
SERVICE_KEYS_PATH = "/api/v1" + SERVICE_KEYS


def test_a_prefix_rule_matches_paths_below_it_and_its_method_only() -> None:
    rule = FaultRule(path="/api/v1/orgs", method="post", status=500)
    assert rule.matches("POST", SERVICE_KEYS_PATH)
    assert not rule.matches("GET", SERVICE_KEYS_PATH)
    assert not rule.matches("POST", "/api/v1/api-key")


def test_a_regex_rule_is_searched_in_the_path() -> None:
    rule = FaultRule(path=r"/service-keys/[0-9a-f-]+$", regex=True, status=503)
    assert rule.matches("DELETE", SERVICE_KEYS_PATH + "/3f6c0d1e-4a3b-4c2d-9e8f-1a2b3c4d5e6f")
    assert not rule.matches("GET", SERVICE_KEYS_PATH)


def test_a_rule_expires_after_its_times_and_the_next_one_takes_over() -> None:
    injector = FaultInjector()
    injector.add(FaultRule(status=429, times=2))
    forever = FaultRule(status=500)
    forever_id = injector.add(forever)
    assert [rule.status if rule else None for rule in (injector.take("GET", "/x") for _ in range(3))] == [
        429,
        429,
        500,
    ]
    assert [armed.id for armed in injector.active()] == [forever_id]
    assert injector.remove(forever_id)
    assert injector.take("GET", "/x") is None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"status": 429, "colour": "red"}, "unknown fault field"),
        ({"status": "429"}, "wrong type"),
        ({"status": True}, "wrong type"),
        ({"status": 429, "times": 0}, "times"),
        ({"status": 1000}, "status"),
        ({"path": "(", "regex": True, "status": 500}, "regex"),
        ({"path": "/api"}, "needs an effect"),
        ({"status": 500, "when": "during"}, "when"),
    ],
)
def test_invalid_rules_are_refused_with_a_reason(data: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        FaultRule.from_json(data)


def test_rules_round_trip_through_json() -> None:
    rule = FaultRule(path="/api", status=429, retry_after=3, times=1, body={"detail": "slow down"})
    assert FaultRule.from_json(rule.to_json()) == rule


@pytest.mark.integration
def test_a_429_with_retry_after_hits_only_its_times(
    sandbox: SandboxServer, sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    sandbox.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, status=429, retry_after=7, times=2))
    responses = [sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()) for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["Retry-After"] == "7"
    assert responses[0].json() == {"detail": "Too Many Requests"}
    assert "Retry-After" not in responses[2].headers


@pytest.mark.integration
def test_a_fault_with_a_custom_body(sandbox: SandboxServer, sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    sandbox.state.faults.add(FaultRule(path="/api/v1/", status=401, body={"error": "Unauthorized: legacy key"}))
    response = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers())
    assert (response.status_code, response.json()) == (401, {"error": "Unauthorized: legacy key"})


@pytest.mark.integration
def test_latency_delays_the_response(sandbox: SandboxServer, sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    sandbox.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, latency_seconds=0.2, times=1))
    started = time.monotonic()
    response = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers())
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2
    sandbox.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, latency_seconds=5, times=1))
    with pytest.raises(httpx.ReadTimeout):
        sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers(), timeout=0.1)


@pytest.mark.integration
def test_a_dropped_connection_gets_no_response(
    sandbox: SandboxServer, sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    sandbox.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, drop_connection=True, times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers())
    assert sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).status_code == 200


@pytest.mark.integration
def test_a_malformed_body_is_not_json(
    sandbox: SandboxServer, sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    sandbox.state.faults.add(
        FaultRule(path=SERVICE_KEYS_PATH, malformed_body="<html>502 Bad Gateway</html>", status=502)
    )
    response = sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers())
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text == "<html>502 Bad Gateway</html>"


@pytest.mark.integration
def test_an_after_fault_loses_the_response_but_keeps_the_effect(
    sandbox: SandboxServer, sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    sandbox.state.faults.add(
        FaultRule(path=SERVICE_KEYS_PATH, method="POST", drop_connection=True, when="after", times=1)
    )
    before = len(sandbox_state.all_keys())
    with pytest.raises(httpx.RemoteProtocolError):
        sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json={"description": "orphan?"})
    created = sandbox_state.all_keys()[before:]
    assert [key.description for key in created] == ["orphan?"]


@pytest.mark.integration
def test_a_before_fault_leaves_state_untouched(
    sandbox: SandboxServer, sandbox_client: httpx.Client, sandbox_state: SandboxState, small_org: SmallOrg
) -> None:
    sandbox.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, method="POST", status=503))
    before = len(sandbox_state.all_keys())
    assert sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json={}).status_code == 503
    assert len(sandbox_state.all_keys()) == before
    record = sandbox_state.key(small_org.admin.id)
    assert record is not None
    assert record.last_used_at is None  # the request never reached authentication


@pytest.mark.integration
def test_faults_never_touch_the_control_api(sandbox: SandboxServer) -> None:
    sandbox.state.faults.add(FaultRule(path="/", status=500))
    assert httpx.get(sandbox.url + "/_sandbox/clock").status_code == 200


@pytest.mark.integration
def test_a_late_create_lands_only_after_the_latency_the_client_gave_up_on(
    sandbox: SandboxServer, sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    latency = 1.0
    sandbox.state.faults.add(
        FaultRule(path=SERVICE_KEYS_PATH, method="POST", latency_seconds=latency, when="before", times=1)
    )

    def descriptions() -> list[str]:
        return [
            item["description"] for item in sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).json()
        ]

    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        sandbox_client.post(SERVICE_KEYS, headers=small_org.org_headers(), json={"description": "late"}, timeout=0.1)
    during = descriptions()
    assert time.monotonic() - started < latency, "the list was meant to be taken during the delay"
    assert "late" not in during
    deadline = started + latency + 5
    while "late" not in descriptions():
        assert time.monotonic() < deadline, "the late create never landed"
        time.sleep(0.02)
    assert time.monotonic() - started >= latency

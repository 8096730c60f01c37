"""`rotator check` end to end: a real subprocess against the sandbox server over loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from langsmith_sandbox import FaultRule, SandboxClock, SandboxServer, SandboxState
from tests.support.live_org import DAY, LiveOrg, make_org
from tests.support.rotator_cli import rotator
from tests.support.secrets_scan import assert_no_secrets

pytestmark = pytest.mark.integration


def env_for(org: LiveOrg) -> dict[str, str]:
    return {
        "LANGSMITH_ENDPOINT": org.server.api_url,
        "LANGSMITH_API_KEY": org.admin.secret,
        "LANGSMITH_ORGANIZATION_ID": org.org_id,
    }


def test_table_lists_every_key_most_urgent_first(live_server: SandboxServer, live_state: SandboxState) -> None:
    org = make_org(live_server, live_state, {"ci-expired": -DAY, "ci-critical": 3 * DAY, "ci-ok": 60 * DAY})
    result = rotator("check", env=env_for(org))
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    order = [next(i for i, line in enumerate(lines) if name in line) for name in ("ci-expired", "ci-critical", "ci-ok")]
    assert order == sorted(order)
    assert "4 keys: 1 expired, 1 critical, 2 ok" in result.stdout
    assert_no_secrets(result.stdout + result.stderr, org.secrets)


def test_json_output_is_the_documented_contract(live_server: SandboxServer, live_state: SandboxState) -> None:
    org = make_org(live_server, live_state, {"never": None, "soon": 10 * DAY})
    result = rotator("check", "--output", "json", env=env_for(org))
    assert result.returncode == 1  # warning, plus a never-expiring key 100 days old: too_old
    document = json.loads(result.stdout)
    assert datetime.fromisoformat(document["checked_at"]) <= datetime.now(UTC)
    by_description = {key["description"]: key for key in document["keys"]}
    assert set(by_description) == {"rotator admin", "never", "soon"}
    required = {
        "org",
        "id",
        "short_key",
        "description",
        "kind",
        "access_scope",
        "workspace_names",
        "expires_at",
        "days_left",
        "status",
    }
    assert all(required <= key.keys() for key in document["keys"])
    never, soon = by_description["never"], by_description["soon"]
    assert (never["status"], never["expires_at"], never["days_left"]) == ("too_old", None, None)
    assert (soon["status"], soon["kind"], soon["access_scope"]) == ("warning", "service_key", "workspace")
    assert soon["workspace_names"] == ["production"]
    assert 9.9 < soon["days_left"] < 10.1
    assert datetime.fromisoformat(soon["expires_at"]) > datetime.now(UTC)
    assert by_description["rotator admin"]["access_scope"] == "organization"
    assert document["failed_orgs"] == []
    assert_no_secrets(result.stdout + result.stderr, org.secrets)


def test_all_ok_exits_zero(live_server: SandboxServer, live_state: SandboxState) -> None:
    org = make_org(live_server, live_state, {"fine": 90 * DAY})
    assert rotator("check", env=env_for(org)).returncode == 0


def test_bad_admin_key_is_unknown_with_a_clear_message(live_server: SandboxServer, live_state: SandboxState) -> None:
    org = make_org(live_server, live_state, {})
    wrong = "lsv2_sk_" + "0" * 32 + "_" + "0" * 10
    result = rotator("check", env={**env_for(org), "LANGSMITH_API_KEY": wrong})
    assert result.returncode == 3
    assert "org default: could not be polled" in result.stdout
    assert "401" in result.stdout
    assert_no_secrets(result.stdout + result.stderr, (wrong, *org.secrets))


def test_unreachable_endpoint_is_unknown(unused_port: int) -> None:
    env = {
        "LANGSMITH_ENDPOINT": f"http://127.0.0.1:{unused_port}",
        "LANGSMITH_API_KEY": "lsv2_sk_" + "1" * 32 + "_" + "1" * 10,
        "ROTATOR_CONFIG": "",
        "LANGSMITH_ORGANIZATION_ID": "00000000-0000-4000-8000-000000000001",
    }
    result = rotator("check", "-o", "json", env=env)
    assert result.returncode == 3
    (failed,) = json.loads(result.stdout)["failed_orgs"]
    assert "ConnectError" in failed["error"]


def test_config_error_names_the_field_and_contacts_nothing(
    live_server: SandboxServer, live_state: SandboxState, tmp_path: Path
) -> None:
    org = make_org(live_server, live_state, {})
    config = tmp_path / "rotator.yaml"
    config.write_text(
        f"orgs:\n  - name: a\n    organization_id: {org.org_id}\n    endpoint: {live_server.api_url}\n"
        "    surprise: true\npolicy: {warn_before: soon}\n"
    )
    before = live_state.stats.total
    result = rotator("--config", str(config), "check", env=env_for(org))
    assert result.returncode == 3
    assert "config error: orgs[0].surprise: unknown field" in result.stderr
    assert "config error: policy.warn_before: 'soon' is not a duration" in result.stderr
    assert live_state.stats.total == before


def test_missing_admin_key_variable_is_a_config_error(live_server: SandboxServer, live_state: SandboxState) -> None:
    org = make_org(live_server, live_state, {})
    env = {k: v for k, v in env_for(org).items() if k != "LANGSMITH_API_KEY"}
    result = rotator("check", env=env)
    assert result.returncode == 3
    assert "LANGSMITH_API_KEY: environment variable is not set" in result.stderr


def test_usage_error_is_unknown_not_critical() -> None:
    result = rotator("check", "--output", "yaml", env={})
    assert result.returncode == 3
    assert "Invalid value for '--output'" in result.stderr


def test_one_broken_org_does_not_hide_the_other(
    live_server: SandboxServer, live_state: SandboxState, tmp_path: Path
) -> None:
    healthy = make_org(live_server, live_state, {"healthy-soon": 3 * DAY})
    broken_state = SandboxState(SandboxClock())
    with SandboxServer(broken_state) as broken_server:
        broken = make_org(broken_server, broken_state, {"hidden": 3 * DAY})
        broken_state.faults.add(FaultRule(path="/api/v1/orgs/current/service-keys", malformed_body="<html>oops"))
        config = tmp_path / "rotator.yaml"
        config.write_text(
            "http: {max_attempts: 1}\n"
            "orgs:\n"
            f"  - {{name: healthy, endpoint: '{healthy.server.api_url}', organization_id: {healthy.org_id},"
            " api_key: {env: A}}\n"
            f"  - {{name: broken, endpoint: '{broken.server.api_url}', organization_id: {broken.org_id},"
            " api_key: {env: B}}\n"
        )
        result = rotator(
            "--config", str(config), "check", "-o", "json", env={"A": healthy.admin.secret, "B": broken.admin.secret}
        )
    assert result.returncode == 3  # could not tell, although a critical key was seen
    document = json.loads(result.stdout)
    (failed,) = document["failed_orgs"]
    assert failed["org"] == "broken"
    assert "not valid JSON" in failed["error"]
    assert {(key["org"], key["description"]) for key in document["keys"]} == {
        ("healthy", "rotator admin"),
        ("healthy", "healthy-soon"),
    }
    assert_no_secrets(result.stdout + result.stderr, (*healthy.secrets, *broken.secrets))


def test_malformed_list_items_are_skipped_and_the_rest_kept(
    live_server: SandboxServer, live_state: SandboxState
) -> None:
    org = make_org(live_server, live_state, {})
    good_id = "6f1c7d8e-0000-4000-8000-000000000001"
    good = {
        "id": good_id,
        "short_key": "lsv2_sk_ab12...",
        "description": "good",
        "expires_at": (datetime.now(UTC) + 30 * DAY).isoformat(),
        "extra_field": {"ignored": True},
    }
    body = [
        good,
        {"short_key": "lsv2_sk_cd34...", "description": "no id"},
        {"id": good_id.replace("1", "2"), "description": 5},
    ]
    live_state.faults.add(FaultRule(path="/api/v1/orgs/current/service-keys", method="GET", status=200, body=body))
    result = rotator("--log-level", "warning", "check", "-o", "json", env=env_for(org))
    assert result.returncode == 0
    assert [key["description"] for key in json.loads(result.stdout)["keys"]] == ["good"]
    malformed = [json.loads(line) for line in result.stderr.splitlines() if "malformed" in line]
    assert len(malformed) == 2


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule(path="/api/v1/orgs/current/service-keys", status=429, retry_after=0, times=3),
        FaultRule(path="/api/v1/orgs/current/service-keys", status=503, times=2),
        FaultRule(path="/api/v1/orgs/current/service-keys", drop_connection=True, times=2),
        FaultRule(path="/api/v1/orgs/current/service-keys", latency_seconds=1.5, times=1),
    ],
    ids=["429-storm", "5xx", "dropped-connection", "timeout"],
)
def test_transient_failures_are_retried_then_succeed(
    live_server: SandboxServer, live_state: SandboxState, tmp_path: Path, fault: FaultRule
) -> None:
    org = make_org(live_server, live_state, {"fine": 90 * DAY})
    config = tmp_path / "rotator.yaml"
    config.write_text(
        "http: {timeout: 1s, max_attempts: 5, max_retry_time: 30s}\n"
        f"orgs: [{{name: acme, endpoint: '{live_server.api_url}', organization_id: {org.org_id}}}]\n"
    )
    live_state.faults.add(fault)
    result = rotator("--config", str(config), "check", "-o", "json", env={"LANGSMITH_API_KEY": org.admin.secret})
    assert result.returncode == 0, result.stdout
    assert {key["description"] for key in json.loads(result.stdout)["keys"]} == {"rotator admin", "fine"}
    # A delayed request is counted when the sandbox finishes it, which may be after the retry succeeded.
    assert wait_for(lambda: service_key_lists(live_state) >= 2), service_key_lists(live_state)


def service_key_lists(state: SandboxState) -> int:
    by_route = state.stats.snapshot()["by_route"]
    assert isinstance(by_route, dict)
    return int(by_route.get("GET /api/v1/orgs/current/service-keys", 0))


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True

"""Alerts through the whole pipeline: real `rotator once` processes, the sandbox, OpenBao (dedup state), a real
Alertmanager and local receivers for the push sinks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from rotator.sandbox import IssuedKey, SandboxClock, SandboxServer, SandboxState
from rotator.sandbox.openbao import OpenBaoDevServer
from rotator.sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_ADMIN, WORKSPACE_EDITOR
from tests.alerts.helpers import Receiver, Reply
from tests.secrets_scan import assert_no_secrets

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)
HMAC = "end-to-end-hmac-secret-0123456789"


@dataclass
class Org:
    server: SandboxServer
    state: SandboxState
    org_id: str
    admin: IssuedKey
    managed: IssuedKey
    unmanaged: IssuedKey

    def secrets(self) -> list[str]:
        return [self.admin.secret, self.managed.secret, self.unmanaged.secret]


@pytest.fixture
def org() -> Iterator[Org]:
    state = SandboxState(SandboxClock())
    now = datetime.now(UTC)
    record = state.add_org("Acme")
    production = state.add_workspace(record.id, "production")
    admin = state.add_service_key(
        record.id,
        org_role_id=BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id,
        description="rotator admin",
        created_at=now - 10 * DAY,
        expires_at=now + 300 * DAY,
    )
    managed = state.add_service_key(
        record.id,
        workspace_ids=[production.id],
        role_id=BUILTIN_BY_NAME[WORKSPACE_EDITOR].id,
        description="chatbot",
        created_at=now - 88 * DAY,
        expires_at=now + 2 * DAY,
    )
    unmanaged = state.add_service_key(
        record.id,
        workspace_ids=[production.id],
        description="legacy-batch",
        created_at=now - 85 * DAY,
        expires_at=now + 5 * DAY,
    )
    with SandboxServer(state) as server:
        yield Org(server, state, record.id, admin, managed, unmanaged)


def write_config(tmp_path: Path, org: Org, openbao: OpenBaoDevServer, sinks: Sequence[Mapping[str, object]]) -> Path:
    prefix = f"e2e-{uuid.uuid4().hex[:10]}"
    config = {
        "orgs": [{"name": "acme", "endpoint": org.server.api_url, "organization_id": org.org_id}],
        "vault": {"address": openbao.address, "state_prefix": f"{prefix}/state"},
        "managed": [
            {"name": "chatbot", "org": "acme", "path": f"{prefix}/chatbot", "adopt": {"key_id": org.managed.id}}
        ],
        "alerts": {"sinks": sinks},
    }
    path = tmp_path / "rotator.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def run_once(config: Path, org: Org, openbao: OpenBaoDevServer) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "VAULT_", "ROTATOR_"))}
    env |= {"LANGSMITH_API_KEY": org.admin.secret, "VAULT_TOKEN": openbao.root_token, "HMAC": HMAC}
    result = subprocess.run(
        [sys.executable, "-m", "rotator", "--config", str(config), "--log-format", "json", "once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def bodies(receiver: Receiver) -> list[dict[str, object]]:
    return [request.json() for request in receiver.requests]


def alert_ids(receiver: Receiver, action: str) -> set[str]:
    return {str(body["alert"]["id"]) for body in bodies(receiver) if body["action"] == action}  # type: ignore[index]


def test_conditions_are_sent_once_across_runs_and_resolve_when_fixed(
    org: Org,
    openbao: OpenBaoDevServer,
    receivers: Callable[..., Receiver],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = receivers()
    sink = {"type": "webhook", "url": {"env": "HOOK_URL"}, "hmac_secret": {"env": "HMAC"}, "min_severity": "info"}
    config = write_config(tmp_path, org, openbao, [sink])
    monkeypatch.setenv("HOOK_URL", hook.url + "/alerts")

    first = run_once(config, org, openbao)
    assert first.returncode == 0, first.stdout + first.stderr[-2000:]
    assert "chatbot: rotated" in first.stdout
    triggered = alert_ids(hook, "trigger")
    assert f"key-expiry:acme:{org.unmanaged.id}" in triggered
    assert any(alert_id.startswith("rotation-succeeded:chatbot:") for alert_id in triggered)
    # The managed key was rotated in this very cycle: its expiry is no longer a condition.
    assert f"key-expiry:acme:{org.managed.id}" not in triggered
    legacy = next(b for b in bodies(hook) if b["alert"]["id"] == f"key-expiry:acme:{org.unmanaged.id}")  # type: ignore[index]
    assert legacy["alert"]["severity"] == "critical"  # type: ignore[index]
    assert "legacy-batch" in legacy["alert"]["summary"]  # type: ignore[index]
    assert "Nothing rotates this key" in legacy["alert"]["action"]  # type: ignore[index]

    sent_before = len(hook.requests)
    second = run_once(config, org, openbao)
    assert second.returncode == 0
    assert len(hook.requests) == sent_before, "a second run must not repeat what the first sent"

    org.state.delete_key(org.unmanaged.id)  # fixed by hand
    third = run_once(config, org, openbao)
    assert third.returncode == 0
    assert alert_ids(hook, "resolve") == {f"key-expiry:acme:{org.unmanaged.id}"}
    new_secret = _vault_secret(openbao, config)
    for output in (first, second, third):
        assert_no_secrets(output.stdout + output.stderr, [*org.secrets(), new_secret, openbao.root_token, HMAC])
    assert_no_secrets("\n".join(r.body.decode() for r in hook.requests), [*org.secrets(), new_secret, HMAC])


def test_alertmanager_sees_the_condition_firing_then_resolved(
    org: Org, openbao: OpenBaoDevServer, alertmanager: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, org, openbao, [{"type": "alertmanager", "url": alertmanager}])
    assert run_once(config, org, openbao).returncode == 0
    active = _active_alerts(alertmanager, org.unmanaged.id)
    assert len(active) == 1
    assert active[0]["labels"]["alertname"] == "LangSmithKeyExpiry"
    assert active[0]["labels"]["severity"] == "critical"
    assert active[0]["labels"]["description"] == "legacy-batch"

    org.state.delete_key(org.unmanaged.id)
    assert run_once(config, org, openbao).returncode == 0
    assert _active_alerts(alertmanager, org.unmanaged.id) == []


def test_a_failing_or_hanging_sink_does_not_stop_rotation_or_the_other_sinks(
    org: Org,
    openbao: OpenBaoDevServer,
    receivers: Callable[..., Receiver],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken, hanging, healthy = receivers(Reply(status=500)), receivers(Reply(hang=30)), receivers()
    monkeypatch.setenv("BROKEN", broken.url)
    monkeypatch.setenv("HANGING", hanging.url)
    monkeypatch.setenv("HEALTHY", healthy.url)
    sinks = [
        {"type": "webhook", "name": "broken", "url": {"env": "BROKEN"}, "timeout": "2s"},
        {"type": "webhook", "name": "hanging", "url": {"env": "HANGING"}, "timeout": "1s"},
        {"type": "webhook", "name": "healthy", "url": {"env": "HEALTHY"}},
    ]
    result = run_once(write_config(tmp_path, org, openbao, sinks), org, openbao)
    assert result.returncode == 0
    assert "chatbot: rotated" in result.stdout
    assert healthy.requests, "the healthy sink got its alerts"
    assert len(broken.requests) >= 2, "the failing sink was retried"
    failures = [json.loads(line) for line in result.stderr.splitlines() if '"alert.delivery_failed"' in line]
    assert {entry["sink"] for entry in failures} >= {"broken", "hanging"}


def _active_alerts(alertmanager: str, key_id: str) -> list[dict[str, dict[str, str]]]:
    response = httpx.get(f"{alertmanager}/api/v2/alerts", params={"active": "true", "silenced": "false"}, timeout=5)
    response.raise_for_status()
    return [alert for alert in response.json() if alert["labels"].get("alert_id", "").endswith(key_id)]


def _vault_secret(openbao: OpenBaoDevServer, config: Path) -> str:
    path = json.loads(config.read_text())["managed"][0]["path"]
    data = openbao.root_client().secrets.kv.v2.read_secret_version(
        path=path, mount_point="secret", raise_on_deleted_version=True
    )["data"]["data"]
    return str(data["api_key"])

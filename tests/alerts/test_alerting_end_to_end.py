"""Alerts through the whole pipeline: real `rotator once` processes, the sandbox, OpenBao (dedup state), a real
Alertmanager and local receivers for the push sinks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from langsmith_sandbox.openbao import OpenBaoDevServer
from tests.support.alert_pipeline import HMAC, Org, run_once, write_config
from tests.support.alertmanager import active_alerts
from tests.support.receivers import Receiver, Reply
from tests.support.secrets_scan import assert_no_secrets

pytestmark = pytest.mark.integration


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
    active = active_alerts(alertmanager, org.unmanaged.id)
    assert len(active) == 1
    assert active[0]["labels"]["alertname"] == "LangSmithKeyExpiry"
    assert active[0]["labels"]["severity"] == "critical"
    assert active[0]["labels"]["key_id"] == org.unmanaged.id, "a stable identifier, not free text"
    assert "description" not in active[0]["labels"]
    assert active[0]["annotations"]["key_description"] == "legacy-batch"

    org.state.delete_key(org.unmanaged.id)
    assert run_once(config, org, openbao).returncode == 0
    assert active_alerts(alertmanager, org.unmanaged.id) == []


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
    assert result.returncode == 4, "the rotation went on, and the run says alerts were not delivered"
    assert "chatbot: rotated" in result.stdout
    assert "not delivered to broken" in result.stdout and "not delivered to hanging" in result.stdout
    assert healthy.requests, "the healthy sink got its alerts"
    assert len(broken.requests) >= 2, "the failing sink was retried"
    failures = [json.loads(line) for line in result.stderr.splitlines() if '"alert.delivery_failed"' in line]
    assert {entry["sink"] for entry in failures} >= {"broken", "hanging"}


def _vault_secret(openbao: OpenBaoDevServer, config: Path) -> str:
    path = json.loads(config.read_text())["managed"][0]["path"]
    data = openbao.root_client().secrets.kv.v2.read_secret_version(
        path=path, mount_point="secret", raise_on_deleted_version=True
    )["data"]["data"]
    return str(data["api_key"])

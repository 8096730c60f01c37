"""`rotator once --pushgateway URL` against a real Pushgateway: push-add, so a failed run updates what it
measured but never erases the last success time a CronJob's alert rule watches."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from langsmith_sandbox import SandboxServer
from tests.support.metrics import Sample, parse_metrics, value, values
from tests.support.orgs import SmallOrg
from tests.support.pushgateway import serve_pushgateway
from tests.support.secrets_scan import assert_no_secrets

P = "langsmith_rotator_"
GROUP = {"job": "langsmith_rotator", "instance": "default"}


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    with serve_pushgateway(tmp_path) as url:
        yield url


def once(config: Path, admin_secret: str, gateway: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "rotator", "--config", str(config), "once", "--pushgateway", gateway],
        env={"PATH": "/usr/bin:/bin", "PUSH_TEST_ADMIN": admin_secret},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert_no_secrets(done.stdout + done.stderr, known=[admin_secret])
    return done


def pushed(gateway: str) -> tuple[str, list[Sample]]:
    text = httpx.get(f"{gateway}/metrics", timeout=5).text
    return text, [s for s in parse_metrics(text) if GROUP.items() <= s.labels.items()]


def test_a_failed_run_keeps_the_last_success_time(
    pushgateway: str, sandbox: SandboxServer, small_org: SmallOrg, tmp_path: Path
) -> None:
    config = tmp_path / "rotator.yaml"
    org = {"name": "acme", "endpoint": sandbox.api_url, "organization_id": small_org.org_id}
    config.write_text(yaml.safe_dump({"orgs": [{**org, "api_key": {"env": "PUSH_TEST_ADMIN"}}]}), encoding="utf-8")

    good = once(config, small_org.admin.secret, pushgateway)
    assert good.returncode == 0, good.stderr
    _, first = pushed(pushgateway)
    last_success = value(first, f"{P}last_successful_cycle_timestamp_seconds")
    assert value(first, f"{P}org_poll_failed", org="acme") == 0
    assert values(first, f"{P}key_created_timestamp_seconds", description="rotator admin")

    revoked = sandbox.state.add_service_key(small_org.org_id, description="revoked")
    sandbox.state.delete_key(revoked.id)
    bad = once(config, revoked.secret, pushgateway)
    assert bad.returncode == 3, bad.stderr

    text, second = pushed(pushgateway)
    assert value(second, f"{P}org_poll_failed", org="acme") == 1, "the failed run was pushed"
    assert value(second, f"{P}last_successful_cycle_timestamp_seconds") == last_success, "and erased nothing"
    assert value(second, f"{P}cycle_duration_seconds_count") == 1, "each run pushes its own process's counts"
    assert_no_secrets(text, known=[small_org.admin.secret, revoked.secret])

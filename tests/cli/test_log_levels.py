"""Default log levels: `run` and `once` log at info (their logs are the record of what a daemon or a CronJob did),
the other commands at warning; an explicit --log-level always wins. Logs go to stderr: stdout holds only the
command's output, so that `rotator check -o json | jq` works."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from langsmith_sandbox import SandboxClock, SandboxServer, SandboxState
from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.vault.kv import KvStore
from tests.support import rotator_cli
from tests.support.network import free_port
from tests.support.orgs import SmallOrg
from tests.support.polling import wait_for
from tests.support.secrets_scan import assert_no_secrets

ADMIN_ENV = "LOG_TEST_ADMIN"
TOKEN_ENV = "LOG_TEST_TOKEN"


@pytest.fixture
def sandbox_state() -> SandboxState:
    """The conftest's sandbox on the real clock: the CLI reads the host's, so keys are fresh."""
    return SandboxState(SandboxClock())


@pytest.fixture
def config(tmp_path: Path, sandbox: SandboxServer, small_org: SmallOrg) -> Path:
    org = {"name": "acme", "endpoint": sandbox.api_url, "organization_id": small_org.org_id}
    return rotator_cli.write_config(tmp_path, {"orgs": [{**org, "api_key": {"env": ADMIN_ENV}}]})


def rotator(config: Path, *args: str, env: dict[str, str]) -> rotator_cli.CliRun:
    return rotator_cli.run_rotator(
        config, *args, env={**rotator_cli.host_environ(), **env}, timeout=60, known=lambda: list(env.values())
    )


def events(stream: str) -> list[dict[str, Any]]:
    """Every line of ``stream`` as a log event; fails on a line that is not one."""
    return [json.loads(line) for line in stream.splitlines()]


def test_once_logs_the_cycle_at_info_on_stderr_and_nothing_on_stdout(config: Path, small_org: SmallOrg) -> None:
    done = rotator(config, "once", env={ADMIN_ENV: small_org.admin.secret})

    assert done.code == 0, done.stderr
    finished = [event for event in events(done.stderr) if event["event"] == "cycle.finished"]
    assert len(finished) == 1 and finished[0]["level"] == "info"
    assert done.stdout.strip() == "no managed secrets configured", "stdout holds the outcome, no log line"


def test_an_explicit_log_level_wins_over_the_default(config: Path, small_org: SmallOrg) -> None:
    done = rotator(config, "--log-level", "warning", "once", env={ADMIN_ENV: small_org.admin.secret})

    assert done.code == 0, done.stderr
    assert [event for event in events(done.stderr) if event["level"] == "info"] == []


def test_check_json_is_pure_json_on_stdout(config: Path, small_org: SmallOrg) -> None:
    done = rotator(config, "check", "-o", "json", env={ADMIN_ENV: small_org.admin.secret})

    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["exit_code"] == 0


def test_check_keeps_warning_by_default(
    *,
    tmp_path: Path,
    sandbox: SandboxServer,
    small_org: SmallOrg,
    openbao: OpenBaoDevServer,
    openbao_kv: KvStore,
    kv_prefix: str,
) -> None:
    """The admin key comes from Vault, so logging in to Vault is an info event: shown only when asked for."""
    openbao_kv.write(f"{kv_prefix}/admin", {"api_key": small_org.admin.secret}, cas=0)
    org = {"name": "acme", "endpoint": sandbox.api_url, "organization_id": small_org.org_id}
    vault = {"address": openbao.address, "auth": {"method": "token", "token": {"env": TOKEN_ENV}}}
    config = rotator_cli.write_config(
        tmp_path, {"orgs": [{**org, "api_key": {"vault": {"path": f"{kv_prefix}/admin"}}}], "vault": vault}
    )
    env = {TOKEN_ENV: openbao.root_token, ADMIN_ENV: small_org.admin.secret}

    quiet = rotator(config, "check", "-o", "json", env=env)
    chatty = rotator(config, "--log-level", "info", "check", "-o", "json", env=env)

    assert quiet.code == chatty.code == 0, quiet.stderr + chatty.stderr
    assert [event["event"] for event in events(quiet.stderr)] == []
    assert "vault.login" in [event["event"] for event in events(chatty.stderr)]
    assert json.loads(quiet.stdout)["exit_code"] == json.loads(chatty.stdout)["exit_code"] == 0, "stdout: JSON only"


def test_run_logs_daemon_started_at_info_by_default(config: Path, small_org: SmallOrg, tmp_path: Path) -> None:
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        daemon = subprocess.Popen(
            rotator_cli.rotator_command(config, "run", "--listen", f"127.0.0.1:{free_port()}"),
            env={**rotator_cli.host_environ(), ADMIN_ENV: small_org.admin.secret},
            stdout=subprocess.PIPE,
            stderr=log,
        )
        try:

            def started() -> list[dict[str, Any]]:
                assert daemon.poll() is None, log_path.read_text()
                return [e for e in events(log_path.read_text()) if e["event"] in {"daemon.started", "cycle.finished"}]

            wait_for(lambda: len(started()) == 2, timeout=20, what="daemon.started and a first cycle.finished")
        finally:
            daemon.send_signal(signal.SIGTERM)
            stdout, _ = daemon.communicate(timeout=20)
    assert daemon.returncode == 0
    assert stdout == b"", "the daemon writes nothing to stdout"
    assert_no_secrets(log_path.read_text(), known=[small_org.admin.secret])

"""A LangSmith user with only what the SDK docs tell them to export (LANGSMITH_API_KEY, maybe
LANGSMITH_ENDPOINT and LANGSMITH_WORKSPACE_ID) gets a working `check` and `once`: the organization is
discovered from the key, the mode chosen is said, and errors name environment variables, not config paths."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from langsmith_sandbox import SandboxServer, SandboxState
from langsmith_sandbox.roles import BUILTIN_BY_NAME, WORKSPACE_EDITOR
from tests.support.live_org import DAY, make_org
from tests.support.network import free_port
from tests.support.rotator_cli import rotator

pytestmark = pytest.mark.integration


def sdk_env(server: SandboxServer, api_key: str, **extra: str) -> dict[str, str]:
    return {"LANGSMITH_ENDPOINT": server.api_url, "LANGSMITH_API_KEY": api_key, **extra}


def test_only_the_api_key_and_endpoint_is_enough_for_check(
    live_server: SandboxServer, live_state: SandboxState
) -> None:
    org = make_org(live_server, live_state, {"chatbot": 40 * DAY})
    result = rotator("check", "--output", "json", env=sdk_env(live_server, org.admin.secret))
    assert result.returncode == 0, result.stderr[-2000:]
    assert {key["description"] for key in json.loads(result.stdout)["keys"]} == {"rotator admin", "chatbot"}
    assert f"organization mode: org Acme ({org.org_id})" in result.stderr
    assert "LANGSMITH_API_KEY" in result.stderr, "says where the org came from"


def test_once_works_with_only_the_api_key(live_server: SandboxServer, live_state: SandboxState) -> None:
    org = make_org(live_server, live_state, {"chatbot": 40 * DAY})
    result = rotator("once", env=sdk_env(live_server, org.admin.secret))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "no managed secrets configured" in result.stdout


def test_a_workspace_id_does_not_narrow_an_org_scoped_key_to_one_workspace(
    live_server: SandboxServer, live_state: SandboxState
) -> None:
    org = make_org(live_server, live_state, {"chatbot": 40 * DAY})
    other = live_state.add_workspace(org.org_id, "staging")
    live_state.add_service_key(org.org_id, workspace_ids=[other.id], description="staging bot")
    env = sdk_env(live_server, org.admin.secret, LANGSMITH_WORKSPACE_ID=other.id)
    result = rotator("check", "--output", "json", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    described = {key["description"] for key in json.loads(result.stdout)["keys"]}
    assert {"chatbot", "staging bot", "rotator admin"} <= described, "every key of the org, not one workspace's"
    assert "organization mode" in result.stderr and "LANGSMITH_WORKSPACE_ID" in result.stderr


def test_when_the_org_cannot_be_found_a_workspace_key_falls_back_to_its_workspace(
    live_server: SandboxServer, live_state: SandboxState
) -> None:
    org = make_org(live_server, live_state, {"chatbot": 40 * DAY})
    live_state.discovers_org = False  # an older or self-hosted LangSmith: X-Organization-Id is required
    workspace = live_state.workspaces_of(org.org_id)[0]
    scoped = live_state.add_service_key(
        org.org_id,
        workspace_ids=[workspace.id],
        description="workspace reader",
        expires_at=datetime.now(UTC) + 60 * DAY,
    )
    result = rotator("check", "--output", "json", env=sdk_env(live_server, scoped.secret))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"workspace mode: workspace production ({workspace.id}) only, because" in result.stderr
    assert "chatbot" in {key["description"] for key in json.loads(result.stdout)["keys"]}


def test_when_the_org_cannot_be_found_the_sdk_workspace_variable_names_the_workspace(
    live_server: SandboxServer, live_state: SandboxState
) -> None:
    org = make_org(live_server, live_state, {"chatbot": 40 * DAY})
    live_state.discovers_org = False
    workspace = live_state.workspaces_of(org.org_id)[0]
    env = sdk_env(live_server, org.admin.secret, LANGSMITH_WORKSPACE_ID=workspace.id)
    result = rotator("check", "--output", "json", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"workspace mode: workspace production ({workspace.id}) only" in result.stderr


def test_a_server_that_will_not_say_the_org_gets_a_one_line_answer_naming_the_variable(
    live_server: SandboxServer, live_state: SandboxState
) -> None:
    org = make_org(live_server, live_state, {"chatbot": 40 * DAY})
    live_state.discovers_org = False  # an older or self-hosted LangSmith: X-Organization-Id is required
    result = rotator("check", env=sdk_env(live_server, org.admin.secret))
    assert result.returncode == 3
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert "LANGSMITH_ORGANIZATION_ID" in line and "orgs[0]" not in result.stderr


def test_a_wrong_org_id_gets_a_hint_not_a_bare_403(live_server: SandboxServer, live_state: SandboxState) -> None:
    org = make_org(live_server, live_state, {"chatbot": 40 * DAY})
    other = live_state.add_org("Someone else")
    env = sdk_env(live_server, org.admin.secret, LANGSMITH_ORGANIZATION_ID=other.id)
    result = rotator("check", env=env)
    assert result.returncode == 3
    assert "LANGSMITH_ORGANIZATION_ID" in result.stdout + result.stderr
    assert "unset it" in (result.stdout + result.stderr).lower()


def test_a_missing_api_key_names_the_variable_not_a_config_path() -> None:
    result = rotator("check", env={"LANGSMITH_ENDPOINT": "http://127.0.0.1:9/api/v1"})
    assert result.returncode == 3
    assert "LANGSMITH_API_KEY" in result.stderr and "orgs[0]" not in result.stderr


def test_insecure_http_in_environment_mode_says_what_to_do_without_a_config_file() -> None:
    env = {"LANGSMITH_ENDPOINT": "http://langsmith.internal/api/v1", "LANGSMITH_API_KEY": "lsv2_sk_x"}
    result = rotator("check", env=env)
    assert result.returncode == 3
    assert "allow_insecure_http: true" not in result.stderr, "config-file advice to an environment-only user"
    assert "LANGSMITH_ALLOW_INSECURE_HTTP" in result.stderr


def test_workspace_mode_shows_role_names_not_ids(
    live_server: SandboxServer, live_state: SandboxState, tmp_path: Path
) -> None:
    org = make_org(live_server, live_state, {})
    workspace = live_state.workspaces_of(org.org_id)[0]
    editor = BUILTIN_BY_NAME[WORKSPACE_EDITOR]
    live_state.add_service_key(org.org_id, workspace_ids=[workspace.id], role_id=editor.id, description="editor bot")
    config = tmp_path / "rotator.yaml"  # one workspace, as a workspace-scoped key's owner would write it
    config.write_text(
        json.dumps({"orgs": [{"name": "ws", "endpoint": live_server.api_url, "workspace_id": workspace.id}]})
    )
    result = rotator("--config", str(config), "check", "--output", "json", env={"LANGSMITH_API_KEY": org.admin.secret})
    assert result.returncode == 0, result.stderr[-2000:]
    (bot,) = [key for key in json.loads(result.stdout)["keys"] if key["description"] == "editor bot"]
    assert bot["role"] == editor.display_name


def test_status_and_run_work_with_only_the_api_key(live_server: SandboxServer, live_state: SandboxState) -> None:
    org = make_org(live_server, live_state, {"chatbot": 40 * DAY})
    env = sdk_env(live_server, org.admin.secret)
    shown = rotator("status", env=env)
    assert shown.returncode == 0 and "no managed secrets configured" in shown.stdout
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "ROTATOR_"))}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "rotator", "run", "--listen", f"127.0.0.1:{port}"],
        env={**base, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert daemon.poll() is None, daemon.communicate()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the daemon did not become ready"
            time.sleep(0.1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, stderr[-2000:]
    assert "organization mode: org Acme" in stderr and "Traceback" not in stderr

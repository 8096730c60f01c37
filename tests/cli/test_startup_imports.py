"""Each command imports what it needs and nothing more: `rotator --version` no adapter at all, `rotator check`
without Vault in its config neither hvac nor the scheduler, the metrics or the daemon. Read off
``python -X importtime``, which lists every module a process imported."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.network import free_port

NEVER_FOR_VERSION = ("httpx", "pydantic", "structlog", "rich", "hvac", "yaml", "rotator.config", "rotator.bootstrap")
NEVER_FOR_CHECK = (
    "hvac",
    "requests",
    "apscheduler.schedulers",
    "prometheus_client",
    "rotator.daemon",
    "rotator.vault.kv",
)


def imported(*args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rotator", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )
    lines = [line for line in run.stderr.splitlines() if line.startswith("import time:")]
    assert lines, run.stderr
    return {line.rsplit("|", 1)[1].strip() for line in lines}, run.stdout


def test_version_loads_no_adapter() -> None:
    modules, output = imported("--version")
    assert output.startswith("rotator, version")
    assert "click" in modules
    assert not [name for name in NEVER_FOR_VERSION if name in modules]


def test_check_without_vault_loads_neither_vault_nor_the_daemon() -> None:
    env = {
        "LANGSMITH_API_KEY": "lsv2_sk_" + "0" * 32 + "_" + "1" * 10,
        "LANGSMITH_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    }
    env["LANGSMITH_ORGANIZATION_ID"] = "00000000-0000-4000-8000-000000000001"
    modules, output = imported("check", env=env)
    assert "could not be polled" in output  # it did try: nothing listens there
    assert not [name for name in NEVER_FOR_CHECK if name in modules]

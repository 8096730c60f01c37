"""Shared fixtures: a sandbox LangSmith server over loopback, with a frozen clock and a small org; free ports;
captured log events."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from langsmith_sandbox import SandboxClock, SandboxServer, SandboxState
from tests.support.logs import LogList
from tests.support.network import free_port
from tests.support.orgs import SANDBOX_T0, SmallOrg, seed_small_org

pytest_plugins = ["tests.support.secrets_scan", "tests.support.leak_scan", "tests.support.openbao", "pytester"]


@pytest.fixture
def sandbox_state() -> SandboxState:
    """An empty sandbox state whose clock is frozen at SANDBOX_T0."""
    return SandboxState(SandboxClock(SANDBOX_T0))


@pytest.fixture
def sandbox(sandbox_state: SandboxState) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox_state) as server:
        yield server


@pytest.fixture
def small_org(sandbox_state: SandboxState) -> SmallOrg:
    return seed_small_org(sandbox_state)


@pytest.fixture
def sandbox_client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """An httpx client whose base URL is the sandbox's /api/v1."""
    with httpx.Client(base_url=sandbox.api_url, timeout=5) as client:
        yield client


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


@pytest.fixture
def logs() -> Iterator[LogList]:
    """Every event logged, debug included, whatever level another test configured."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    try:
        with capture_logs() as captured:
            yield captured
        from tests.support import leak_scan  # not at the top: that would import the plugin too early to rewrite it

        leak_scan.collect("structlog", repr(captured))
    finally:
        structlog.configure(**saved)

"""Shared fixtures: a sandbox LangSmith server over loopback, with a frozen clock and a small org."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from rotator.sandbox import IssuedKey, SandboxClock, SandboxServer, SandboxState
from rotator.sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_ADMIN

pytest_plugins = ["tests.secrets_scan", "tests.openbao_fixture", "pytester"]

SANDBOX_T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SmallOrg:
    """Org "Acme" with workspaces production and staging, and an org-wide Organization Admin service key."""

    org_id: str
    production_id: str
    staging_id: str
    admin: IssuedKey

    def org_headers(self, secret: str | None = None) -> dict[str, str]:
        return {"X-API-Key": secret or self.admin.secret, "X-Organization-Id": self.org_id}

    def tenant_headers(self, secret: str | None = None, workspace_id: str | None = None) -> dict[str, str]:
        headers = {"X-API-Key": secret or self.admin.secret}
        if workspace_id is not None:
            headers["X-Tenant-Id"] = workspace_id
        return headers


def seed_small_org(state: SandboxState) -> SmallOrg:
    org = state.add_org("Acme")
    production = state.add_workspace(org.id, "production")
    staging = state.add_workspace(org.id, "staging")
    admin = state.add_service_key(
        org.id, org_role_id=BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id, description="rotator admin"
    )
    return SmallOrg(org.id, production.id, staging.id, admin)


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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port

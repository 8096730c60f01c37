"""Org "Acme" in a sandbox on the real clock (the CLI subprocess reads the host's), with service keys expiring
after given spans: what the `rotator check` and zero-config tests run against."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from langsmith_sandbox import IssuedKey, SandboxServer, SandboxState
from tests.support.orgs import seed_small_org

DAY = timedelta(days=1)


@dataclass(frozen=True)
class LiveOrg:
    server: SandboxServer
    state: SandboxState
    org_id: str
    admin: IssuedKey
    secrets: tuple[str, ...]


def make_org(server: SandboxServer, state: SandboxState, expiries: Mapping[str, timedelta | None]) -> LiveOrg:
    """Org "Acme" (workspace production) with an admin key (healthy) and one service key per entry, created 100
    days ago and expiring after the given span from now (or never)."""
    org = seed_small_org(state, workspaces=("production",), admin_age=10 * DAY, admin_expires_in=300 * DAY)
    now = state.clock.now()
    secrets = [org.admin.secret]
    for description, expires_in in expiries.items():
        issued = state.add_service_key(
            org.org_id,
            workspace_ids=[org.production_id],
            description=description,
            created_at=now - 100 * DAY,
            expires_at=None if expires_in is None else now + expires_in,
        )
        secrets.append(issued.secret)
    return LiveOrg(server, state, org.org_id, org.admin, tuple(secrets))

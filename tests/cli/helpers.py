"""What the CLI tests share: an org seeded into the sandbox, and the real CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rotator.sandbox import IssuedKey, SandboxServer, SandboxState
from rotator.sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_ADMIN

DAY = timedelta(days=1)


@dataclass(frozen=True)
class LiveOrg:
    server: SandboxServer
    state: SandboxState
    org_id: str
    admin: IssuedKey
    secrets: tuple[str, ...]


def add_org(
    state: SandboxState, name: str, expiries: Mapping[str, timedelta | None]
) -> tuple[str, IssuedKey, list[str]]:
    """An org with an admin key (healthy) and one service key per entry, expiring after the given span."""
    now = datetime.now(UTC)
    org = state.add_org(name)
    workspace = state.add_workspace(org.id, "production")
    admin = state.add_service_key(
        org.id,
        org_role_id=BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id,
        description="rotator admin",
        created_at=now - 10 * DAY,
        expires_at=now + 300 * DAY,
    )
    secrets = [admin.secret]
    for description, expires_in in expiries.items():
        issued = state.add_service_key(
            org.id,
            workspace_ids=[workspace.id],
            description=description,
            created_at=now - 100 * DAY,
            expires_at=None if expires_in is None else now + expires_in,
        )
        secrets.append(issued.secret)
    return org.id, admin, secrets


def make_org(server: SandboxServer, state: SandboxState, expiries: Mapping[str, timedelta | None]) -> LiveOrg:
    org_id, admin, secrets = add_org(state, "Acme", expiries)
    return LiveOrg(server, state, org_id, admin, tuple(secrets))


def rotator(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the real CLI; its output is echoed so the suite-wide secret scan sees it too."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "ROTATOR_"))}
    result = subprocess.run(
        [sys.executable, "-m", "rotator", "--log-format", "json", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    print(result.stdout)
    print(result.stderr, file=sys.stderr)
    assert "Traceback" not in result.stderr
    return result

"""What the whole-pipeline alert tests share: a sandbox org with an admin, a managed and an unmanaged key; a
config writer; and `rotator once` as a real process. (The proxy that makes a receiver fail on demand is in
tests/support/receivers.py.)"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from langsmith_sandbox import IssuedKey, SandboxClock, SandboxServer, SandboxState
from langsmith_sandbox.openbao import OpenBaoDevServer
from langsmith_sandbox.roles import BUILTIN_BY_NAME, WORKSPACE_EDITOR
from tests.support import leak_scan
from tests.support.orgs import seed_small_org
from tests.support.rotator_cli import host_environ, rotator_command

DAY = timedelta(days=1)
HMAC = "end-to-end-hmac-secret-0123456789"


@dataclass
class Org:
    server: SandboxServer
    state: SandboxState
    org_id: str
    admin: IssuedKey
    managed: IssuedKey
    unmanaged: IssuedKey

    def secrets(self) -> list[str]:
        return [self.admin.secret, self.managed.secret, self.unmanaged.secret]

    def set_expiry(self, key: IssuedKey, expires_at: datetime) -> None:
        record = self.state.key(key.id)
        assert record is not None
        record.expires_at = expires_at


@contextmanager
def sandbox_org(*, unmanaged_expires_in: timedelta = 5 * DAY) -> Iterator[Org]:
    state = SandboxState(SandboxClock())
    seeded = seed_small_org(state, workspaces=("production",), admin_age=10 * DAY, admin_expires_in=300 * DAY)
    now = state.clock.now()
    managed = state.add_service_key(
        seeded.org_id,
        workspace_ids=[seeded.production_id],
        role_id=BUILTIN_BY_NAME[WORKSPACE_EDITOR].id,
        description="chatbot",
        created_at=now - 88 * DAY,
        expires_at=now + 2 * DAY,
    )
    unmanaged = state.add_service_key(
        seeded.org_id,
        workspace_ids=[seeded.production_id],
        description="legacy-batch",
        created_at=now - 85 * DAY,
        expires_at=now + unmanaged_expires_in,
    )
    with SandboxServer(state) as server:
        yield Org(server, state, seeded.org_id, seeded.admin, managed, unmanaged)


def write_config(
    tmp_path: Path,
    org: Org,
    openbao: OpenBaoDevServer,
    sinks: Sequence[Mapping[str, object]],
    *,
    alerts: Mapping[str, object] | None = None,
    managed: bool = True,
    **top: object,
) -> Path:
    prefix = f"e2e-{uuid.uuid4().hex[:10]}"
    config: dict[str, Any] = {
        "orgs": [{"name": "acme", "endpoint": org.server.api_url, "organization_id": org.org_id}],
        "vault": {"address": openbao.address, "state_prefix": f"{prefix}/state"},
        "alerts": {"sinks": list(sinks), **(alerts or {})},
        **top,
    }
    if managed:
        config["managed"] = [
            {"name": "chatbot", "org": "acme", "path": f"{prefix}/chatbot", "adopt": {"key_id": org.managed.id}}
        ]
    path = tmp_path / "rotator.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    leak_scan.note_config(config)
    return path


def state_prefix(config: Path) -> str:
    return str(json.loads(config.read_text())["vault"]["state_prefix"])


def run_once(
    config: Path, org: Org, openbao: OpenBaoDevServer, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = host_environ()
    environ |= {"LANGSMITH_API_KEY": org.admin.secret, "VAULT_TOKEN": openbao.root_token, "HMAC": HMAC}
    environ |= dict(env or {})
    result = subprocess.run(
        rotator_command(config, "once"),
        env=environ,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def log_events(result: subprocess.CompletedProcess[str], event: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stderr.splitlines() if f'"event": "{event}"' in line]

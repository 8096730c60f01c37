"""What the whole-pipeline alert tests share: a sandbox org with an admin, a managed and an unmanaged key; a
config writer; `rotator once` as a real process; and a proxy that can make a real receiver fail on demand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from rotator.sandbox import IssuedKey, SandboxClock, SandboxServer, SandboxState
from rotator.sandbox.openbao import OpenBaoDevServer
from rotator.sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_ADMIN, WORKSPACE_EDITOR

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
    now = datetime.now(UTC)
    record = state.add_org("Acme")
    production = state.add_workspace(record.id, "production")
    admin = state.add_service_key(
        record.id,
        org_role_id=BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id,
        description="rotator admin",
        created_at=now - 10 * DAY,
        expires_at=now + 300 * DAY,
    )
    managed = state.add_service_key(
        record.id,
        workspace_ids=[production.id],
        role_id=BUILTIN_BY_NAME[WORKSPACE_EDITOR].id,
        description="chatbot",
        created_at=now - 88 * DAY,
        expires_at=now + 2 * DAY,
    )
    unmanaged = state.add_service_key(
        record.id,
        workspace_ids=[production.id],
        description="legacy-batch",
        created_at=now - 85 * DAY,
        expires_at=now + unmanaged_expires_in,
    )
    with SandboxServer(state) as server:
        yield Org(server, state, record.id, admin, managed, unmanaged)


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
    return path


def state_prefix(config: Path) -> str:
    return str(json.loads(config.read_text())["vault"]["state_prefix"])


def run_once(
    config: Path, org: Org, openbao: OpenBaoDevServer, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "VAULT_", "ROTATOR_"))}
    environ |= {"LANGSMITH_API_KEY": org.admin.secret, "VAULT_TOKEN": openbao.root_token, "HMAC": HMAC}
    environ |= dict(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "rotator", "--config", str(config), "--log-format", "json", "once"],
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


class FlakyProxy:
    """A loopback HTTP proxy in front of a real server (Alertmanager) that answers 503 while ``down`` is set,
    as a receiver having a bad minute would; every request that reached the real server is kept."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.down = threading.Event()
        self.forwarded: list[Any] = []
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.down.is_set():
                    proxy.refused += 1
                    self._answer(503, b"down for the test")
                    return
                upstream = httpx.post(
                    proxy.target + self.path, content=body, headers={"Content-Type": "application/json"}, timeout=10
                )
                proxy.forwarded.append(json.loads(body))
                self._answer(upstream.status_code, upstream.content)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def active_alerts(alertmanager: str, key_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{alertmanager}/api/v2/alerts", params={"active": "true", "silenced": "false"}, timeout=5)
    response.raise_for_status()
    return [alert for alert in response.json() if alert["labels"].get("alert_id", "").endswith(key_id)]

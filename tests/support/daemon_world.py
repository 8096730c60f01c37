"""The daemon suite's world: `python -m rotator run` as real processes against the sandbox LangSmith server (on
the real clock, since a subprocess reads the host's) and the session's OpenBao dev server, scraped and probed over
loopback (tests/daemon/conftest.py's fixtures build the worlds and start the daemons).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx

from langsmith_sandbox import IssuedKey, KeyRecord
from rotator.domain.journal import SecretState
from rotator.ports import SecretVersion
from tests.support import leak_scan, rotator_cli
from tests.support.metrics import Sample, parse_metrics
from tests.support.network import free_port
from tests.support.orgs import ORG_ADMIN_ROLE
from tests.support.polling import wait_for
from tests.support.sandbox_vault_world import DAY, EnvNames, SandboxVaultWorld, assert_key_works, assert_no_new_orphans

MANAGED = "chatbot"
# Small retry budget: a failing poll should fail within a cycle, not after a minute of retries.
FAST_HTTP = {"timeout": "5s", "max_attempts": 2, "max_retry_time": "5s"}


@dataclass
class World(SandboxVaultWorld):
    """Org "Acme" with workspace production; one managed secret, ``MANAGED``, at ``path``."""

    env: ClassVar[EnvNames] = EnvNames("DAEMON_TEST_ADMIN_KEY", "DAEMON_TEST_VAULT_TOKEN")
    issued: list[IssuedKey] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"{self.prefix}/apps/{MANAGED}"

    def key(self, key_id: str) -> KeyRecord:
        key = self.state.key(key_id)
        assert key is not None, f"the sandbox never issued {key_id}"
        return key

    def live_keys(self) -> list[KeyRecord]:
        return [key for key in self.state.all_keys() if key.deleted_at is None]

    def stored(self) -> SecretVersion:
        return self.stored_at(self.path)

    def journal(self) -> SecretState:
        return self.journals.load(MANAGED)[0]

    def lease_expires_at(self) -> datetime:
        lease = self.kv.read(self.lease_path)
        assert lease is not None, "no lease was ever taken"
        return datetime.fromisoformat(str(lease.data["expires_at"]))

    def lease_holder(self) -> str | None:
        lease = self.kv.read(self.lease_path)
        return None if lease is None else str(lease.data["holder"])

    # ── seeding ─────────────────────────────────────────────────────────────────────────────────────────

    def service_key(
        self, description: str, *, age: timedelta = 10 * DAY, lifetime: timedelta | None = 90 * DAY
    ) -> IssuedKey:
        issued = self.add_key(description, age=age, lifetime=lifetime, org_role_id=ORG_ADMIN_ROLE)
        self.issued.append(issued)
        return issued

    def managed_key(self) -> IssuedKey:
        """The managed key, due: 70 of its 90 days gone (past two thirds), stored in Vault by hand."""
        issued = self.service_key("chatbot prod", age=70 * DAY)
        self.store_key(self.path, issued)
        return issued

    # ── configuration ───────────────────────────────────────────────────────────────────────────────────

    def config(self, managed: IssuedKey, *, grace: str = "24h", **top: Any) -> dict[str, Any]:
        daemon = {"jitter": "0", "shutdown_timeout": "10s", **top.pop("daemon", {})}
        return {
            "poll_interval": "10s",
            **self.connection_config(http=FAST_HTTP),
            "managed": [
                {
                    "name": MANAGED,
                    "org": "acme",
                    "path": self.path,
                    "adopt": {"key_id": managed.id},
                    "grace_period": grace,
                }
            ],
            "lease": {"ttl": "15s"},
            "daemon": daemon,
            **top,
        }

    def config_file(self, directory: Path, managed: IssuedKey, **options: Any) -> Path:
        return rotator_cli.write_config(directory, self.config(managed, **options))

    def environ(self, admin_secret: str | None = None) -> dict[str, str]:
        return {**rotator_cli.host_environ(), **self.credentials(admin_secret=admin_secret)}

    def secrets(self) -> list[str]:
        """Every secret the test knows: the admin key, the Vault token, seeded keys, and what Vault holds now."""
        stored = self.kv.read(self.path)
        in_vault = [str(stored.data.get("api_key", ""))] if stored is not None else []
        return [self.admin.secret, self.bao.root_token, *(key.secret for key in self.issued), *in_vault]


# ── invariants, read from the sandbox's and Vault's real state ──────────────────────────────────────────


def assert_vault_key_works(world: World) -> KeyRecord:
    """I1: Vault holds a key LangSmith accepts, and ``key_id`` names it."""
    stored = world.stored()
    secret = str(stored.data["api_key"])
    key = assert_key_works(world, stored, secret)
    answer = httpx.get(
        f"{world.api_url}/orgs/current/info",
        headers={"X-API-Key": secret, "X-Organization-Id": world.org_id},
        timeout=5,
    )
    assert answer.status_code == 200, "the key in Vault does not authenticate"
    return key


def assert_no_orphans(world: World, before: set[str]) -> None:
    """I3: every key created since ``before`` is the one in Vault, or deleted."""
    assert_no_new_orphans(world, before, world.stored().data.get("key_id"))


# ── the daemon process ──────────────────────────────────────────────────────────────────────────────────


class Daemon:
    """One `rotator run` process; logs (JSON lines on stderr) go to a file, read as it runs."""

    def __init__(self, config: Path, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log_file = log_path.open("wb")
        self.started = time.time()
        self.process = subprocess.Popen(
            rotator_cli.rotator_command(config, "--log-level", "info", "run", "--listen", f"127.0.0.1:{self.port}"),
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self._http = httpx.Client(base_url=self.url, timeout=5)

    @property
    def pid(self) -> int:
        return self.process.pid

    def get(self, path: str) -> httpx.Response:
        answer = self._http.get(path)
        leak_scan.collect("daemon-http", answer.text, path)
        return answer

    def wait_serving(self, timeout: float = 15) -> None:
        def serving() -> bool:
            assert self.process.poll() is None, f"the daemon exited {self.process.returncode}:\n{self.tail()}"
            try:
                return self.get("/healthz").status_code in (200, 503)
            except httpx.TransportError:
                return False

        wait_for(serving, timeout=timeout, what="the daemon's HTTP server")

    def logs(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                events.append({"event": "<not json>", "line": line})
        return events

    def events(self, name: str) -> list[dict[str, Any]]:
        return [event for event in self.logs() if event.get("event") == name]

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def wait_cycles(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        """The ``cycle.finished`` lines, once there are at least ``count``."""

        def done() -> list[dict[str, Any]] | None:
            assert self.process.poll() is None, f"the daemon exited {self.process.returncode}:\n{self.tail()}"
            finished = self.events("cycle.finished")
            return finished if len(finished) >= count else None

        return wait_for(done, timeout=timeout, what=f"{count} finished cycle(s)")

    def scrape(self) -> tuple[str, list[Sample]]:
        response = self.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return response.text, parse_metrics(response.text)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._http.close()
        self._log_file.close()


StartDaemon = Callable[..., Daemon]


def run_once(world: World, config: Path, *args: str, timeout: float = 30) -> rotator_cli.CliRun:
    """`rotator once` as a real process; its output is checked for secrets."""
    return rotator_cli.run_rotator(config, "once", *args, env=world.environ(), timeout=timeout, known=world.secrets)

"""A world for rotation tests: the sandbox LangSmith server over loopback, the real OpenBao dev server, an org
with workspaces production and staging, and builders for settings, runtimes, managed keys and config files.

The invariant checks (I1-I3) read the sandbox's and Vault's real state, never what the rotator reports.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from rotator.cycle import Runtime
from rotator.domain.journal import SecretState
from rotator.rotation import Outcome
from rotator.sandbox import IssuedKey, KeyRecord, SandboxClock, SandboxServer, SandboxState
from rotator.sandbox.openbao import OpenBaoDevServer
from rotator.sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_ADMIN, WORKSPACE_EDITOR, WORKSPACE_VIEWER
from rotator.settings import Settings
from rotator.vault import KvStore, SecretVersion, TokenAuth, VaultSession
from rotator.vault.journal import JournalStore
from tests.conftest import SANDBOX_T0
from tests.secrets_scan import assert_no_secrets

ORG_ADMIN_ROLE = BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id
EDITOR_ROLE = BUILTIN_BY_NAME[WORKSPACE_EDITOR].id
VIEWER_ROLE = BUILTIN_BY_NAME[WORKSPACE_VIEWER].id
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
ADMIN_ENV = "ROTATION_TEST_ADMIN_KEY"
VAULT_TOKEN_ENV = "ROTATION_TEST_VAULT_TOKEN"
CREATE_PATH = "/api/v1/orgs/current/service-keys"
# Failure tests keep the LangSmith client's retry budget small; the defaults wait up to a minute.
FAST_HTTP = {"timeout": "2s", "max_attempts": 2, "max_retry_time": "5s"}


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def no_sleep(_: float) -> None:
    """The saga's verify step waits between attempts; in-process tests need not."""


@dataclass
class World:
    state: SandboxState
    api_url: str
    org_id: str
    production_id: str
    staging_id: str
    admin: IssuedKey
    bao: OpenBaoDevServer
    prefix: str
    kv: KvStore
    """The ``secret/`` mount with the root token: what the tests use to look at Vault."""
    _runtimes: list[Runtime] = field(default_factory=list)

    # ── paths and state ─────────────────────────────────────────────────────────────────────────────────

    @property
    def state_prefix(self) -> str:
        return f"{self.prefix}/state"

    def path(self, name: str = "chatbot") -> str:
        return f"{self.prefix}/apps/{name}"

    def now(self) -> datetime:
        return self.state.clock.now()

    def stored(self, name: str = "chatbot") -> SecretVersion:
        stored = self.kv.read(self.path(name))
        assert stored is not None, f"nothing stored at {self.path(name)}"
        return stored

    def version(self, name: str = "chatbot") -> int:
        metadata = self.kv.read_metadata(self.path(name))
        return 0 if metadata is None else metadata.current_version

    def journal(self, name: str = "chatbot") -> SecretState:
        return JournalStore(self.kv, self.state_prefix).load(name)[0]

    def journal_version(self, name: str = "chatbot") -> int:
        return JournalStore(self.kv, self.state_prefix).load(name)[1]

    def key_ids(self) -> set[str]:
        return {key.id for key in self.state.all_keys()}

    def live_key(self, key_id: str) -> bool:
        key = self.state.key(key_id)
        return key is not None and key.deleted_at is None

    # ── seeding ─────────────────────────────────────────────────────────────────────────────────────────

    def managed_key(
        self,
        name: str = "chatbot",
        *,
        description: str = "chatbot prod",
        workspace_ids: Sequence[str] = (),
        role_id: str | None = None,
        org_role_id: str | None = None,
        lifetime: timedelta | None = 90 * DAY,
        age: timedelta = 70 * DAY,
        store: bool = True,
    ) -> IssuedKey:
        """A service key a team made by hand (due for rotation: two thirds of its lifetime are gone), stored
        in Vault at ``path(name)`` as they would have stored it."""
        created_at = self.now() - age
        issued = self.state.add_service_key(
            self.org_id,
            workspace_ids=workspace_ids,
            role_id=role_id,
            org_role_id=org_role_id,
            description=description,
            created_at=created_at,
            expires_at=None if lifetime is None else created_at + lifetime,
        )
        if store:
            self.kv.write(self.path(name), {"api_key": issued.secret, "key_id": issued.id}, cas=0)
        return issued

    # ── configuration ───────────────────────────────────────────────────────────────────────────────────

    def managed(self, name: str = "chatbot", *, key: IssuedKey | None = None, **overrides: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": name, "org": "acme", "path": self.path(name), "grace_period": "24h"}
        if key is not None:
            entry["adopt"] = {"key_id": key.id}
        entry.update(overrides)
        return entry

    def config(
        self,
        *managed: dict[str, Any],
        vault_address: str | None = None,
        http: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "http": http or FAST_HTTP,
            "orgs": [
                {
                    "name": "acme",
                    "endpoint": self.api_url,
                    "organization_id": self.org_id,
                    "api_key": {"env": ADMIN_ENV},
                }
            ],
            "vault": {
                "address": vault_address or self.bao.address,
                "auth": {"method": "token", "token": {"env": VAULT_TOKEN_ENV}},
                "kv_mount": "secret",
                "state_prefix": self.state_prefix,
            },
            "managed": list(managed),
        }

    def environ(self, vault_token: str | None = None) -> dict[str, str]:
        return {ADMIN_ENV: self.admin.secret, VAULT_TOKEN_ENV: vault_token or self.bao.root_token}

    def runtime(
        self,
        *managed: dict[str, Any],
        vault_token: str | None = None,
        vault_address: str | None = None,
        http: dict[str, Any] | None = None,
    ) -> Runtime:
        """A runtime whose clock is the sandbox's, so advancing one advances both."""
        settings = Settings.model_validate(self.config(*managed, vault_address=vault_address, http=http))
        runtime = Runtime(settings, self.environ(vault_token), now=self.state.clock.now)
        self._runtimes.append(runtime)
        return runtime

    def run(self, *managed: dict[str, Any], **options: Any) -> list[Outcome]:
        """One in-process cycle, as one `rotator once` process would run it (releasing the lease at the end)."""
        runtime = self.runtime(*managed, **options)
        try:
            return list(runtime.run_cycle().outcomes)
        finally:
            runtime.release()

    @property
    def lease_path(self) -> str:
        return f"{self.state_prefix}/leases/default"

    def lapse_lease(self) -> None:
        """What the lease's ttl does to a holder that died: it lapses (here at once, not after a minute)."""
        stored = self.kv.read(self.lease_path)
        assert stored is not None, "no lease was ever taken"
        lapsed = {**stored.data, "expires_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}
        self.kv.write(self.lease_path, lapsed, cas=stored.version)

    def config_file(self, directory: Path, *managed: dict[str, Any], **options: Any) -> Path:
        path = directory / "rotator.yaml"
        path.write_text(yaml.safe_dump(self.config(*managed, **options)), encoding="utf-8")
        return path

    def close(self) -> None:
        for runtime in self._runtimes:
            runtime.release()
            if runtime.vault is not None:
                runtime.vault.close()


WorldFactory = Callable[..., World]


@pytest.fixture
def make_world(openbao: OpenBaoDevServer, kv_prefix: str) -> Iterator[WorldFactory]:
    """Build a world; ``real_clock`` for subprocess runs (the rotator then reads the host's clock)."""
    with ExitStack() as stack:
        session = stack.enter_context(VaultSession(address=openbao.address, auth=TokenAuth(openbao.root_token)))
        worlds: list[World] = []

        def build(
            *,
            real_clock: bool = False,
            max_service_key_expiry_days: int | None = None,
            bao: OpenBaoDevServer | None = None,
        ) -> World:
            state = SandboxState(None if real_clock else SandboxClock(SANDBOX_T0))
            org = state.add_org("Acme", max_service_key_expiry_days=max_service_key_expiry_days)
            production = state.add_workspace(org.id, "production")
            staging = state.add_workspace(org.id, "staging")
            admin = state.add_service_key(org.id, org_role_id=ORG_ADMIN_ROLE, description="rotator admin")
            server = stack.enter_context(SandboxServer(state))
            kv = KvStore(session, mount="secret")
            if bao is not None:
                kv = KvStore(stack.enter_context(VaultSession(address=bao.address, auth=TokenAuth(bao.root_token))))
            world = World(
                state, server.api_url, org.id, production.id, staging.id, admin, bao or openbao, kv_prefix, kv
            )
            worlds.append(world)
            return world

        try:
            yield build
        finally:
            for world in worlds:
                world.close()


@pytest.fixture
def world(make_world: WorldFactory) -> World:
    """A world on the sandbox's frozen clock (SANDBOX_T0), which the runtimes share."""
    return make_world()


# ── invariants ──────────────────────────────────────────────────────────────────────────────────────────


def assert_i1(world: World, name: str = "chatbot", field_name: str = "api_key") -> KeyRecord:
    """Vault holds a key that authenticates: listed, not deleted, not expired, and the one ``key_id`` names."""
    stored = world.stored(name)
    secret = stored.data.get(field_name)
    assert isinstance(secret, str), f"no {field_name!r} at {world.path(name)}"
    key = world.state.key_for_secret(secret)
    assert key is not None, "Vault holds a secret LangSmith never issued"
    assert key.deleted_at is None, f"Vault holds key {key.id}, which is deleted"
    assert not key.is_expired(world.now()), f"Vault holds key {key.id}, which has expired"
    assert stored.data.get("key_id") == key.id, "key_id in Vault does not name the stored key"
    return key


def assert_i2(world: World, old_id: str, name: str = "chatbot", grace: timedelta = 24 * HOUR) -> None:
    """The old key is gone only if its replacement is in Vault and the grace period had passed by then."""
    old = world.state.key(old_id)
    assert old is not None
    if old.deleted_at is None:
        return
    stored = world.stored(name)
    assert stored.data.get("key_id") != old_id, "the old key was deleted while Vault still holds it"
    assert stored.custom_metadata.get("previous_key_id") == old_id
    rotated_at = datetime.fromisoformat(stored.custom_metadata["rotated_at"])
    assert old.deleted_at - rotated_at >= grace, "the old key was deleted before its grace period was over"


def assert_i3(world: World, before: set[str], name: str = "chatbot") -> None:
    """Every key created since ``before`` is the one in Vault, or deleted."""
    stored = world.kv.read(world.path(name))
    in_vault = stored.data.get("key_id") if stored is not None else None
    orphans = [
        key.id
        for key in world.state.all_keys()
        if key.id not in before and key.deleted_at is None and key.id != in_vault
    ]
    assert not orphans, f"orphaned keys: {orphans}"


def assert_invariants(
    world: World, *, old_id: str, before: set[str], name: str = "chatbot", grace: timedelta = 24 * HOUR
) -> KeyRecord:
    key = assert_i1(world, name)
    assert_i2(world, old_id, name, grace)
    assert_i3(world, before, name)
    return key


# ── the command line, in a subprocess ───────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str


def run_cli(
    world: World,
    config: Path,
    *args: str,
    failpoint: str | None = None,
    vault_token: str | None = None,
) -> CliRun:
    """``python -m rotator --config FILE ARGS`` as a real process; its output is checked for leaked secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "LANGSMITH_", "ROTATOR_"))}
    env.update(world.environ(vault_token))
    env["COLUMNS"] = "200"  # one outcome per line, however long the message
    if failpoint is not None:
        env["ROTATOR_FAILPOINT"] = failpoint
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rotator",
            "--config",
            str(config),
            "--log-format",
            "json",
            "--log-level",
            "info",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_no_secrets(done.stdout + done.stderr, known=[world.admin.secret, world.bao.root_token, vault_token or ""])
    return CliRun(done.returncode, done.stdout, done.stderr)

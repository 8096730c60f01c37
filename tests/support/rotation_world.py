"""The rotation suite's world: the sandbox LangSmith server over loopback, the real OpenBao dev server, an org
with workspaces production and staging, and builders for settings, runtimes, managed keys and config files
(tests/rotation/conftest.py's ``make_world`` and ``world`` build it).

The invariant checks (I1-I3) read the sandbox's and Vault's real state, never what the rotator reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from langsmith_sandbox import IssuedKey, KeyRecord
from langsmith_sandbox.roles import BUILTIN_BY_NAME, WORKSPACE_EDITOR, WORKSPACE_VIEWER
from rotator.bootstrap import build_services
from rotator.config import Settings
from rotator.cycle import Rotator
from rotator.domain.journal import SecretState
from rotator.ports import SecretVersion
from rotator.rotation import Outcome
from tests.support import rotator_cli
from tests.support.sandbox_vault_world import DAY, EnvNames, SandboxVaultWorld, assert_key_works, assert_no_new_orphans

EDITOR_ROLE = BUILTIN_BY_NAME[WORKSPACE_EDITOR].id
VIEWER_ROLE = BUILTIN_BY_NAME[WORKSPACE_VIEWER].id
HOUR = timedelta(hours=1)
# Failure tests keep the LangSmith client's retry budget small; the defaults wait up to a minute.
FAST_HTTP = {"timeout": "2s", "max_attempts": 2, "max_retry_time": "5s"}


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class World(SandboxVaultWorld):
    """Org "Acme" with workspaces production and staging; managed secrets at ``path(name)``."""

    env: ClassVar[EnvNames] = EnvNames("ROTATION_TEST_ADMIN_KEY", "ROTATION_TEST_VAULT_TOKEN")
    _runtimes: list[Rotator] = field(default_factory=list)

    # ── paths and state ─────────────────────────────────────────────────────────────────────────────────

    def path(self, name: str = "chatbot") -> str:
        return f"{self.prefix}/apps/{name}"

    def stored(self, name: str = "chatbot") -> SecretVersion:
        return self.stored_at(self.path(name))

    def version(self, name: str = "chatbot") -> int:
        metadata = self.kv.read_metadata(self.path(name))
        return 0 if metadata is None else metadata.current_version

    def journal(self, name: str = "chatbot") -> SecretState:
        return self.journals.load(name)[0]

    def journal_version(self, name: str = "chatbot") -> int:
        return self.journals.load(name)[1]

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
        issued = self.add_key(
            description,
            age=age,
            lifetime=lifetime,
            workspace_ids=workspace_ids,
            role_id=role_id,
            org_role_id=org_role_id,
        )
        if store:
            self.store_key(self.path(name), issued)
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
        return {**self.connection_config(http=http or FAST_HTTP, vault_address=vault_address), "managed": list(managed)}

    def runtime(
        self,
        *managed: dict[str, Any],
        vault_token: str | None = None,
        vault_address: str | None = None,
        http: dict[str, Any] | None = None,
    ) -> Rotator:
        """A runtime whose clock is the sandbox's, so advancing one advances both."""
        settings = Settings.model_validate(self.config(*managed, vault_address=vault_address, http=http))
        runtime = Rotator(build_services(settings, self.credentials(vault_token=vault_token), now=self.state.clock.now))
        self._runtimes.append(runtime)
        return runtime

    def run(self, *managed: dict[str, Any], **options: Any) -> list[Outcome]:
        """One in-process cycle, as one `rotator once` process would run it (releasing the lease at the end)."""
        runtime = self.runtime(*managed, **options)
        try:
            return list(runtime.run_cycle().outcomes)
        finally:
            runtime.services.gate.release()

    def config_file(self, directory: Path, *managed: dict[str, Any], **options: Any) -> Path:
        return rotator_cli.write_config(directory, self.config(*managed, **options))

    def close(self) -> None:
        for runtime in self._runtimes:
            runtime.services.gate.release()
            if runtime.services.vault is not None:
                runtime.services.vault.close()


WorldFactory = Callable[..., World]


# ── invariants ──────────────────────────────────────────────────────────────────────────────────────────


def assert_i1(world: World, name: str = "chatbot", field_name: str = "api_key") -> KeyRecord:
    """Vault holds a key that authenticates: listed, not deleted, not expired, and the one ``key_id`` names."""
    stored = world.stored(name)
    secret = stored.data.get(field_name)
    assert isinstance(secret, str), f"no {field_name!r} at {world.path(name)}"
    return assert_key_works(world, stored, secret)


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
    assert_no_new_orphans(world, before, stored.data.get("key_id") if stored is not None else None)


def assert_invariants(
    world: World, *, old_id: str, before: set[str], name: str = "chatbot", grace: timedelta = 24 * HOUR
) -> KeyRecord:
    key = assert_i1(world, name)
    assert_i2(world, old_id, name, grace)
    assert_i3(world, before, name)
    return key


# ── the command line, in a subprocess ───────────────────────────────────────────────────────────────────


def run_cli(
    world: World,
    config: Path,
    *args: str,
    failpoint: str | None = None,
    vault_token: str | None = None,
    stdin: str | None = None,
    secrets: Sequence[str] = (),
) -> rotator_cli.CliRun:
    """``python -m rotator --config FILE ARGS`` as a real process; its output is checked for leaked secrets."""
    env = {**rotator_cli.host_environ(), **world.credentials(vault_token=vault_token)}
    if failpoint is not None:
        env["ROTATOR_FAILPOINT"] = failpoint
    return rotator_cli.run_rotator(
        config,
        "--log-level",
        "info",
        *args,
        env=env,
        timeout=60,
        known=lambda: [world.admin.secret, world.bao.root_token, vault_token or "", *secrets],
        stdin=stdin,
    )

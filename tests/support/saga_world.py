"""A world for unit tests of the rotation saga: the sandbox LangSmith served in-process, a memory target and a
memory state store, and a fresh :class:`RotationSaga` for every run, built as ``rotator.cycle`` builds it.

The invariant checks read the sandbox's records and the memory target, never what the saga reports:

- Vault (the target) holds a key that authenticates, the one its ``key_id`` names;
- no orphan: every key made since ``before`` is in the target, waits in the journal, or is deleted;
- an old key is deleted only after its replacement is stored and its grace period has passed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from langsmith_sandbox import IssuedKey, KeyRecord, SandboxState
from langsmith_sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_ADMIN
from rotator.config import ManagedSecretSettings, OrgSettings
from rotator.domain.journal import SecretState
from rotator.langsmith import ApiKeySource, LangSmithClient
from rotator.ports import KeyAdmin, SecretVersion
from rotator.rotation import Outcome, RotationSaga
from rotator.state import JournalStore, StateLayout
from tests.support.in_process import ENDPOINT, InProcessLangSmith
from tests.support.memory import MemorySecretTarget, MemoryStateStore

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MAX_AGE = 90 * DAY
ORG_ADMIN_ROLE = BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id
SECRET_NAME = "chatbot"
JOURNAL = StateLayout().journal(SECRET_NAME)
CREATE_PATH = "/api/v1/orgs/current/service-keys"
ORG_INFO_PATH = "/api/v1/orgs/current/info"
KEY_PATH_REGEX = r"^/api/v1/orgs/current/service-keys/[0-9a-f-]+$"


class SocketUsed(BaseException):
    """A unit test tried to open a connection. A BaseException, so that no handler in the product hides it."""


class Crash(BaseException):
    """The process "died" at a failpoint. A BaseException, so that no handler in the product survives it,
    as none survives ``os._exit``."""

    def __init__(self, code: int) -> None:
        super().__init__(f"crashed at failpoint {os.environ.get('ROTATOR_FAILPOINT')!r} (exit code {code})")
        self.code = code


@dataclass
class SagaWorld:
    langsmith: InProcessLangSmith
    target: MemorySecretTarget
    store: MemoryStateStore
    guard: Callable[[], None] = lambda: None
    """What the sagas call before each change (raise MustStop to stop them)."""
    before_verify: Callable[[], None] | None = None
    """Run before each verification client is built (to fail an attempt, say)."""
    sleeps: list[float] = field(default_factory=list)
    """Every wait a saga asked for (none is slept)."""
    _clients: list[LangSmithClient] = field(default_factory=list)

    @classmethod
    def create(cls) -> SagaWorld:
        langsmith = InProcessLangSmith.seeded()
        return cls(langsmith, MemorySecretTarget(now=langsmith.state.clock.now), MemoryStateStore())

    # ── LangSmith ───────────────────────────────────────────────────────────────────────────────────────

    @property
    def state(self) -> SandboxState:
        return self.langsmith.state

    @property
    def org_id(self) -> str:
        return self.langsmith.org.org_id

    @property
    def production_id(self) -> str:
        return self.langsmith.org.production_id

    @property
    def staging_id(self) -> str:
        return self.langsmith.org.staging_id

    def now(self) -> datetime:
        return self.state.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.state.clock.advance(delta)

    def key(self, key_id: str) -> KeyRecord:
        record = self.state.key(key_id)
        assert record is not None, f"LangSmith never issued key {key_id}"
        return record

    def live(self, key_id: str) -> bool:
        record = self.state.key(key_id)
        return record is not None and record.deleted_at is None

    def key_ids(self) -> set[str]:
        return {key.id for key in self.state.all_keys()}

    def new_keys(self, before: set[str], *, live: bool = True) -> list[str]:
        """Keys made since ``before``, in creation order (the live ones only, unless ``live`` is False)."""
        return [key.id for key in self.state.all_keys() if key.id not in before and (not live or self.live(key.id))]

    def use_key(self, secret: str) -> None:
        """A consumer calls LangSmith with ``secret`` now, so LangSmith records the use."""
        with self.langsmith.client(secret) as client:
            client.org_info()

    # ── seeding and settings ────────────────────────────────────────────────────────────────────────────

    def managed_key(
        self,
        *,
        description: str = "chatbot prod",
        workspace_ids: Sequence[str] = (),
        role_id: str | None = None,
        org_role_id: str | None = ORG_ADMIN_ROLE,
        lifetime: timedelta | None = 90 * DAY,
        age: timedelta = 70 * DAY,
        store: bool = True,
    ) -> IssuedKey:
        """A service key a team made by hand ``age`` ago (by default due: two thirds of its lifetime are gone),
        stored in the target as they would have stored it (version 1)."""
        created_at = self.state.clock.now() - age
        issued = self.state.add_service_key(
            self.org_id,
            workspace_ids=workspace_ids,
            role_id=role_id,
            org_role_id=None if workspace_ids else org_role_id,
            description=description,
            created_at=created_at,
            expires_at=None if lifetime is None else created_at + lifetime,
        )
        if store:
            self.target.write({"api_key": issued.secret, "key_id": issued.id}, cas=0)
        return issued

    def secret(self, key: IssuedKey | None = None, **overrides: Any) -> ManagedSecretSettings:
        """The managed secret's settings: adopt ``key`` by id, 24h of grace, unless ``overrides`` say otherwise."""
        entry: dict[str, Any] = {"name": SECRET_NAME, "org": "acme", "path": "apps/chatbot", "grace_period": "24h"}
        if key is not None:
            entry["adopt"] = {"key_id": key.id}
        entry.update(overrides)
        return ManagedSecretSettings.model_validate(entry)

    @property
    def org_settings(self) -> OrgSettings:
        return OrgSettings.model_validate({"name": "acme", "endpoint": ENDPOINT, "organization_id": self.org_id})

    # ── the saga ────────────────────────────────────────────────────────────────────────────────────────

    def saga(
        self,
        secret: ManagedSecretSettings,
        *,
        dry_run: bool = False,
        admin: KeyAdmin | None = None,
        on_promoted: Callable[[str], None] | None = None,
    ) -> RotationSaga:
        return RotationSaga(
            secret=secret,
            org=self.org_settings,
            admin=admin or self.client(),
            target=self.target,
            journal=JournalStore(self.store),
            verifier=self._verifier,
            max_age=MAX_AGE,
            now=self.state.clock.now,
            dry_run=dry_run,
            sleep=self.sleeps.append,
            guard=self._guard,
            on_promoted=on_promoted,
        )

    def run(
        self,
        secret: ManagedSecretSettings,
        *,
        force: bool = False,
        revoke_old: bool = False,
        dry_run: bool = False,
        admin: KeyAdmin | None = None,
        on_promoted: Callable[[str], None] | None = None,
    ) -> Outcome:
        """One run of a fresh saga, as one cycle of one process runs it."""
        saga = self.saga(secret, dry_run=dry_run, admin=admin, on_promoted=on_promoted)
        return saga.run(force=force, revoke_old=revoke_old)

    def import_secret(self, secret: ManagedSecretSettings, value: str, *, dry_run: bool = False) -> Outcome:
        return self.saga(secret, dry_run=dry_run).import_secret(value)

    def client(self, api_key: str | ApiKeySource | None = None, *, workspace_id: str | None = None) -> LangSmithClient:
        client = self.langsmith.client(api_key, workspace_id=workspace_id)
        self._clients.append(client)
        return client

    def _guard(self) -> None:
        self.guard()  # looked up at each call: a test may change ``guard`` while a saga runs

    def _verifier(self, secret: str, workspace: str | None) -> LangSmithClient:
        if self.before_verify is not None:
            self.before_verify()
        return self.client(secret, workspace_id=workspace)

    def close(self) -> None:
        for client in self._clients:
            client.close()

    # ── the journal and the target ──────────────────────────────────────────────────────────────────────

    @property
    def journal(self) -> SecretState:
        return JournalStore(self.store).load(SECRET_NAME)[0]

    @property
    def journal_version(self) -> int:
        return self.store.version(JOURNAL)

    @property
    def stored(self) -> SecretVersion:
        stored = self.target.peek()
        assert stored is not None, f"nothing stored at {self.target.name}"
        return stored

    # ── invariants ──────────────────────────────────────────────────────────────────────────────────────

    def assert_target_authenticates(self) -> KeyRecord:
        """The target holds a key LangSmith issued, neither deleted nor expired, the one its key_id names."""
        stored = self.stored
        secret = stored.data.get("api_key")
        assert isinstance(secret, str), f"no api_key at {self.target.name}"
        key = self.state.key_for_secret(secret)
        assert key is not None, "the target holds a secret LangSmith never issued"
        assert key.deleted_at is None, f"the target holds key {key.id}, which is deleted"
        assert not key.is_expired(self.state.clock.now()), f"the target holds key {key.id}, which has expired"
        assert stored.data.get("key_id") == key.id, "key_id in the target does not name the stored key"
        return key

    def assert_no_orphans(self, before: set[str]) -> None:
        """Every live key made since ``before`` is the target's, or the journal names it (retiring, or the
        rotation in flight, which the next run settles)."""
        journal = self.journal
        named = {old.key_id for old in journal.retiring}
        if journal.rotation is not None and journal.rotation.new_key_id is not None:
            named.add(journal.rotation.new_key_id)
        stored = self.target.peek()
        in_target = stored.data.get("key_id") if stored is not None else None
        orphans = [key for key in self.new_keys(before) if key != in_target and key not in named]
        assert not orphans, f"orphaned keys: {orphans}"

    def assert_retired_safely(self, old_id: str, *, grace: timedelta) -> None:
        """The old key is gone only if its replacement is in the target and its grace period had passed."""
        old = self.key(old_id)
        if old.deleted_at is None:
            return
        stored = self.stored
        assert stored.data.get("key_id") != old_id, "the old key was deleted while the target still holds it"
        assert stored.custom_metadata.get("previous_key_id") == old_id
        rotated_at = datetime.fromisoformat(stored.custom_metadata["rotated_at"])
        assert old.deleted_at - rotated_at >= grace, "the old key was deleted before its grace period was over"

    def assert_failed_cleanly(self, old_id: str, before: set[str]) -> None:
        """Nothing destroyed, nothing orphaned: the target still holds the old key, which still works."""
        assert self.assert_target_authenticates().id == old_id
        assert self.live(old_id)
        self.assert_no_orphans(before)

    def assert_backoff(self, failures: int = 1) -> None:
        """The journal records ``failures`` failed attempts, the last just now, and backs off accordingly."""
        journal = self.journal
        assert journal.failures == failures
        assert journal.next_attempt_at == self.now() + HOUR * 2 ** (failures - 1)
        assert journal.last_error

    def assert_invariants(self, *, old_id: str, before: set[str], grace: timedelta = 24 * HOUR) -> KeyRecord:
        key = self.assert_target_authenticates()
        self.assert_no_orphans(before)
        self.assert_retired_safely(old_id, grace=grace)
        return key

"""A seeded random soak of the rotation saga: managed secrets, each in its own :class:`SagaWorld` (a world holds
one secret), driven cycle after cycle under random faults, with the invariants checked after every cycle.

Everything random comes from one ``random.Random(seed)``, so a failing seed replays exactly; :class:`Soak` keeps
the last cycles' steps to say what led to a failure.

Checks after each cycle, from the sandbox's records and the memory target, never from what the saga reports:

- I1: the target holds a key that authenticates (``assert_target_authenticates``);
- no orphans: every live key made is in the target, retiring or in flight in the journal
  (``assert_no_orphans``) -- or, after a cycle with faults, waits for the next run as a lost create's match
  (the in-flight intent's or an unresolved fingerprint's); after a fault-free cycle the strict check holds;
- I2: every key ever held by the target that is now deleted was replaced in the target first, at least its
  grace period before its deletion (checked over the target's whole version history, and with
  ``assert_retired_safely`` for the key the latest version replaced);
- the rotator's own admin key is never touched.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from langsmith_sandbox import FaultRule, KeyRecord
from langsmith_sandbox.faults import When
from langsmith_sandbox.roles import BUILTIN_BY_NAME, WORKSPACE_EDITOR
from rotator.config import ManagedSecretSettings
from rotator.domain.journal import SecretState
from rotator.domain.rotation import CREATED_BEFORE_INTENT_TOLERANCE, FINGERPRINT_TOLERANCE
from rotator.rotation import Outcome, Result
from rotator.state import JournalStore
from tests.support.crashes import FAILPOINTS
from tests.support.memory import MemorySecretTarget, MemoryStateStore
from tests.support.saga_world import (
    CREATE_PATH,
    DAY,
    HOUR,
    KEY_PATH_REGEX,
    ORG_INFO_PATH,
    SECRET_NAME,
    Crash,
    SagaWorld,
)

EDITOR_ROLE = BUILTIN_BY_NAME[WORKSPACE_EDITOR].id
STEPS_KEPT = int(os.environ.get("SOAK_STEPS", "40"))
MINUTE = timedelta(minutes=1)
WHENS: tuple[When, ...] = ("before", "after")
LIFETIME = 7 * DAY
MAX_GRACE = 2 * DAY
"""At most half of the rotation interval (7d minus a third of it), as the config requires."""
CLIENT_TIMEOUT_BEYOND = 60.0
"""Injected latency past the in-process clients' 10 s read timeout."""

SANDBOX_KINDS = ("http_5xx", "http_429", "drop_connection", "timeout", "malformed_body", "lost_create")
STORE_KINDS = ("store_refusal", "store_lost_answer", "store_read_failure")
FAULT_KINDS = (*SANDBOX_KINDS, *STORE_KINDS, "crash", "consumer_use")
"""Every kind of fault the soak injects; each must be hit at least once per seed."""

ArmFailpoint = Callable[[str | None], None]


class _Unfaulted:
    """The journal's store, read without its injected faults (what the soak looks at must not use them up)."""

    def __init__(self, store: MemoryStateStore) -> None:
        self._store = store

    def load(self, name: str) -> tuple[dict[str, Any] | None, int]:
        return self._store.peek(name)


def journal_of(world: SagaWorld) -> SecretState:
    return JournalStore(_Unfaulted(world.store)).load(SECRET_NAME)[0]  # type: ignore[arg-type]


@dataclass(frozen=True)
class SecretPlan:
    description: str
    grace: timedelta
    workspaces: bool = False


PLANS = (
    SecretPlan("chatbot prod", grace=HOUR),
    SecretPlan("indexer", grace=6 * HOUR, workspaces=True),
    SecretPlan("evals nightly", grace=DAY),
)


@dataclass
class Managed:
    """One managed secret and the world it lives in."""

    plan: SecretPlan
    world: SagaWorld
    settings: ManagedSecretSettings
    before: set[str]
    admin_id: str
    adopted: bool = False
    expired_under_faults: set[str] = field(default_factory=set)

    @classmethod
    def create(cls, plan: SecretPlan) -> Managed:
        world = SagaWorld.create()
        old = world.managed_key(
            description=plan.description,
            workspace_ids=[world.production_id] if plan.workspaces else (),
            role_id=EDITOR_ROLE if plan.workspaces else None,
            lifetime=LIFETIME,
            age=4 * DAY,
        )
        settings = world.secret(old, lifetime="7d", grace_period=f"{int(plan.grace.total_seconds())}s", max_grace="2d")
        before = {world.langsmith.org.admin.id}  # the adopted key is one of the managed keys the soak watches
        return cls(plan, world, settings, before, world.langsmith.org.admin.id)

    # ── the checks ──────────────────────────────────────────────────────────────────────────────────────

    def managed_keys(self, *, live: bool = True) -> list[KeyRecord]:
        return [
            key
            for key in self.world.state.all_keys()
            if key.id not in self.before and (not live or key.deleted_at is None)
        ]

    def check(self, *, strict_orphans: bool) -> None:
        world = self.world
        if journal_of(world).current_key_id is not None:
            self.adopted = True
        assert world.live(self.admin_id), "the rotator's own admin key was deleted"
        self.assert_target_authenticates()
        if strict_orphans:
            world.assert_no_orphans(self.before)
        else:
            self.assert_no_untracked_keys()
        self.assert_history_retired_safely()

    def assert_target_authenticates(self) -> None:
        """I1 (the target holds the adopted key from the start). A key may expire only if faults kept every run
        from rotating it in the 56h between its due time and its expiry: the liveness check in
        :meth:`Soak._run` fails any fault-free run that was due, not backing off, and did not rotate."""
        stored = self.world.stored
        key = self.world.state.key_for_secret(str(stored.data.get("api_key")))
        if key is not None and key.deleted_at is None and key.is_expired(self.world.now()):
            assert stored.data.get("key_id") == key.id == journal_of(self.world).current_key_id
            self.expired_under_faults.add(key.id)
            return
        self.world.assert_target_authenticates()

    def due(self) -> bool:
        """Whether the target's key is due (a third of its lifetime left) and the secret is not backing off."""
        world = self.world
        key = world.key(str(world.stored.data["key_id"]))
        journal = journal_of(world)
        now = world.now()
        if key.expires_at is None or now < key.expires_at - LIFETIME / 3:
            return False
        return journal.next_attempt_at is None or now >= journal.next_attempt_at

    def assert_no_untracked_keys(self) -> None:
        """Like ``assert_no_orphans``, but a key a lost create made may wait for the next run, which deletes it
        as a match of the in-flight intent or of an unresolved fingerprint."""
        journal = journal_of(self.world)
        named = {old.key_id for old in journal.retiring}
        if journal.current_key_id is not None:
            named.add(journal.current_key_id)  # replaced in the target by a rotation in flight, not yet promoted
        fingerprints = [(fp.description, fp.expires_at, fp.intent_at) for fp in journal.unresolved]
        rotation = journal.rotation
        if rotation is not None:
            named.add(rotation.old_key_id)
            if rotation.new_key_id is not None:
                named.add(rotation.new_key_id)
            if rotation.spec.expires_at is not None:
                fingerprints.append((rotation.spec.description, rotation.spec.expires_at, rotation.started_at))
        stored = self.world.target.peek()
        in_target = stored.data.get("key_id") if stored is not None else None

        def matches(key: KeyRecord) -> bool:
            return any(
                key.description == description
                and key.expires_at is not None
                and abs(key.expires_at - expires_at) <= FINGERPRINT_TOLERANCE
                and key.created_at >= intent_at - CREATED_BEFORE_INTENT_TOLERANCE
                for description, expires_at, intent_at in fingerprints
            )

        untracked = [
            key.id for key in self.managed_keys() if key.id != in_target and key.id not in named and not matches(key)
        ]
        assert not untracked, f"orphaned keys (not in the target, nor tracked by the journal): {untracked}"

    def assert_history_retired_safely(self) -> None:
        """I2 over every version the target ever held."""
        target: MemorySecretTarget = self.world.target
        held: list[tuple[str, int]] = []
        for version in range(1, target.version + 1):
            key_id = target.data_at(version).get("key_id")
            if isinstance(key_id, str) and (not held or held[-1][0] != key_id):
                held.append((key_id, version))
        metadata = target.metadata()
        assert metadata is not None
        created = {number: info.created_at for number, info in metadata.versions.items()}
        for index, (key_id, _) in enumerate(held):
            record = self.world.key(key_id)
            if record.deleted_at is None:
                continue
            assert index + 1 < len(held), f"key {key_id} was deleted while the target still holds it"
            replaced_at = created[held[index + 1][1]]
            assert replaced_at is not None
            assert record.deleted_at - replaced_at >= self.plan.grace, (
                f"key {key_id} was deleted {record.deleted_at - replaced_at} after its replacement was stored,"
                f" within its grace period of {self.plan.grace}"
            )
        if len(held) >= 2 and "previous_key_id" in metadata.custom_metadata:
            self.world.assert_retired_safely(held[-2][0], grace=self.plan.grace)


@dataclass
class Soak:
    """The soak of one seed: its secrets, its random source, and what it saw."""

    seed: int
    crash_at: ArmFailpoint
    secrets: list[Managed] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)
    """Faults armed, by kind."""
    hit: Counter[str] = field(default_factory=Counter)
    """Faults that took effect (a rule matched a request, a planned store failure was used, a crash happened)."""
    results: Counter[str] = field(default_factory=Counter)
    steps: list[str] = field(default_factory=list)
    _armed: list[tuple[str, str, int]] = field(default_factory=list)
    _store_armed: list[tuple[str, MemorySecretTarget | MemoryStateStore, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        if not self.secrets:
            self.secrets = [Managed.create(plan) for plan in PLANS]

    def close(self) -> None:
        for managed in self.secrets:
            managed.world.close()

    # ── one cycle ───────────────────────────────────────────────────────────────────────────────────────

    def advance(self) -> timedelta:
        roll = self.rng.random()
        if roll < 0.4:
            delta = self.rng.randint(1, 120) * MINUTE
        elif roll < 0.85:
            delta = self.rng.randint(60, 24 * 60) * MINUTE
        else:
            delta = self.rng.randint(24 * 60, 36 * 60) * MINUTE  # within the 56h between due and expiry
        for managed in self.secrets:
            managed.world.advance(delta)
        return delta

    def cycle(self, number: int, *, faults: bool = True) -> None:
        delta = self.advance() if faults else MAX_GRACE + HOUR
        if not faults:
            for managed in self.secrets:
                managed.world.advance(delta)
        for managed in self.secrets:
            planned = self._inject(managed) if faults else []
            failpoint = self.rng.choice(FAILPOINTS) if faults and self.rng.random() < 0.12 else None
            force = faults and self.rng.random() < 0.1
            self.steps.append(
                f"cycle {number} +{delta} {managed.plan.description!r}: faults={planned} crash_at={failpoint}"
                f" force={force}"
            )
            del self.steps[:-STEPS_KEPT]
            self._run(managed, failpoint=failpoint, force=force, clean=not planned and failpoint is None)
            self._clear(managed)
            clean = not planned and failpoint is None
            try:
                managed.check(strict_orphans=clean)
            except AssertionError as error:
                raise AssertionError(f"seed {self.seed}: {error}\nlast steps:\n  " + "\n  ".join(self.steps)) from None

    def _run(self, managed: Managed, *, failpoint: str | None, force: bool, clean: bool) -> None:
        world = managed.world
        in_flight = journal_of(world).rotation
        due = clean and not force and managed.due()  # a forced run refuses while old keys wait (README)
        held_before = world.stored.data["key_id"]
        if failpoint is not None:
            self.injected["crash"] += 1
        self.crash_at(failpoint)
        try:
            outcome: Outcome | None = world.run(managed.settings, force=force)
        except Crash:
            assert failpoint is not None, "a Crash escaped although no failpoint was armed"
            self.hit["crash"] += 1
            self.results["crashed"] += 1
            self.steps.append(f"  -> crashed at {failpoint}")
            outcome = None
        except Exception as error:
            raise AssertionError(
                f"seed {self.seed}: the saga raised {error!r}\nlast steps:\n  " + "\n  ".join(self.steps)
            ) from error
        finally:
            self.crash_at(None)
        if outcome is None:
            return
        if due and outcome.result is not Result.SKIPPED:
            self.results["due_fault_free_runs"] += 1
            assert world.stored.data["key_id"] != held_before, (
                f"seed {self.seed}: a fault-free run, due and not backing off, did not rotate: {outcome.message}"
                "\nlast steps:\n  " + "\n  ".join(self.steps)
            )
        self.steps.append(f"  -> {outcome.result}: {outcome.message[:160]}")
        self.results[str(outcome.result)] += 1
        if outcome.promoted:
            self.results["rotations"] += 1
        after = journal_of(world).rotation
        if in_flight is not None and (after is None or after.id != in_flight.id):
            self.results["recoveries"] += 1

    # ── faults ──────────────────────────────────────────────────────────────────────────────────────────

    def _inject(self, managed: Managed) -> list[str]:
        if self.rng.random() < 0.4:
            return []
        kinds = self.rng.sample([kind for kind in FAULT_KINDS if kind != "crash"], k=self.rng.randint(1, 3))
        kinds.sort(key=lambda kind: kind != "consumer_use")  # a consumer's call, before the faults are armed
        planned = []
        for kind in kinds:
            planned.append(self._inject_one(managed, kind))
            self.injected[kind] += 1
        return planned

    def _sandbox_rule(self, kind: str) -> FaultRule:
        rng = self.rng
        path, method, regex = rng.choice(
            [
                (CREATE_PATH, "GET", False),
                (CREATE_PATH, "POST", False),
                (KEY_PATH_REGEX, "DELETE", True),
                (ORG_INFO_PATH, "GET", False),
                ("/api/v1/", None, False),
            ]
        )
        times = rng.randint(1, 4)
        when: When = rng.choice(WHENS)
        if kind == "lost_create":
            path, method, regex, when, times = CREATE_PATH, "POST", False, "after", 1
            effect = rng.choice(("status", "drop", "timeout"))
            if effect == "status":
                return FaultRule(path=path, method=method, status=rng.choice((500, 502, 504)), when=when, times=times)
            if effect == "drop":
                return FaultRule(path=path, method=method, drop_connection=True, when=when, times=times)
            return FaultRule(path=path, method=method, latency_seconds=CLIENT_TIMEOUT_BEYOND, when=when, times=times)
        common = {"path": path, "method": method, "regex": regex, "times": times}
        if kind == "http_5xx":
            return FaultRule(**common, status=rng.choice((500, 502, 503, 504)), when=when)  # type: ignore[arg-type]
        if kind == "http_429":
            return FaultRule(**common, status=429, retry_after=rng.choice((None, 0, 1)), when=when)  # type: ignore[arg-type]
        if kind == "drop_connection":
            return FaultRule(**common, drop_connection=True, when=when)  # type: ignore[arg-type]
        if kind == "timeout":
            return FaultRule(**common, latency_seconds=CLIENT_TIMEOUT_BEYOND, when=when)  # type: ignore[arg-type]
        assert kind == "malformed_body"
        return FaultRule(**common, malformed_body="<html><body>502 Bad Gateway</body></html>")  # type: ignore[arg-type]

    def _inject_one(self, managed: Managed, kind: str) -> str:
        world, rng = managed.world, self.rng
        if kind in SANDBOX_KINDS:
            rule = self._sandbox_rule(kind)
            self._armed.append((kind, world.state.faults.add(rule), rule.times or 0))
            return f"{kind}({rule.method} {rule.path} x{rule.times} {rule.when})"
        if kind == "consumer_use":  # a consumer calls LangSmith with a key the target holds or once held
            target = world.target
            secrets = {
                str(target.data_at(version)["key_id"]): str(target.data_at(version)["api_key"])
                for version in range(1, target.version + 1)
            }
            retiring = [old.key_id for old in journal_of(world).retiring if old.key_id in secrets]
            key_id = rng.choice(retiring) if retiring else str(world.stored.data["key_id"])
            record = world.key(key_id)
            if record.deleted_at is None and not record.is_expired(world.now()):
                world.use_key(secrets[key_id])
                self.hit[kind] += 1
            return f"consumer_use({'retiring' if retiring else 'current'} {key_id})"
        port: MemorySecretTarget | MemoryStateStore = rng.choice((world.target, world.store))
        where = "target" if port is world.target else "journal"
        times = rng.randint(1, 2)
        if kind == "store_refusal":
            port.refuse_writes(times)
        elif kind == "store_lost_answer":
            landed = rng.random() < 0.5
            port.lose_write_answers(times, landed=landed)
            where += f" landed={landed}"
        else:
            assert kind == "store_read_failure"
            port.fail_reads(times)
        self._store_armed.append((kind, port, times))
        return f"{kind}({where} x{times})"

    def _clear(self, managed: Managed) -> None:
        """Count the faults that took effect, then remove every one left."""
        world = managed.world
        active = {armed.id: armed.remaining or 0 for armed in world.state.faults.active()}
        for kind, fault_id, times in self._armed:
            used = times - active.get(fault_id, 0)
            if used:
                self.hit[kind] += used
        for kind, port, times in self._store_armed:
            left = port.pending_read_failures if kind == "store_read_failure" else port.pending_write_failures
            if left < times:
                self.hit[kind] += times - left
        world.state.faults.clear()
        for memory in (world.target, world.store):
            memory.clear_failures()
        self._armed = []
        self._store_armed = []

    # ── the end ─────────────────────────────────────────────────────────────────────────────────────────

    def settle(self, *, cycles: int = 6) -> None:
        """Clean cycles, each past the longest grace, until every secret is settled; then the end state holds."""
        for number in range(cycles):
            self.cycle(10_000 + number, faults=False)
            if all(self._settled(managed) for managed in self.secrets):
                break
        for managed in self.secrets:
            world = managed.world
            journal = journal_of(world)
            assert managed.adopted, f"{managed.plan.description}: never adopted"
            assert (journal.rotation, journal.retiring) == (None, ()), (
                f"seed {self.seed} {managed.plan.description}: not settled after {cycles} clean cycles: {journal}"
            )
            key = world.assert_target_authenticates()
            live = [record.id for record in managed.managed_keys()]
            assert live == [key.id], f"seed {self.seed} {managed.plan.description}: live managed keys {live}"
            world.assert_no_orphans(managed.before)
            managed.check(strict_orphans=True)

    @staticmethod
    def _settled(managed: Managed) -> bool:
        journal = journal_of(managed.world)
        return journal.rotation is None and not journal.retiring and len(managed.managed_keys()) == 1

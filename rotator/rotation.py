"""The rotation saga for one managed secret, after AWS Secrets Manager's steps and Vault's write-ahead log.

Each step is journaled in Vault before the next one runs (see ``rotator.domain.rotation.Phase``):

    intent ─► create ─► created ─► verify ─► write target (CAS) + read back ─► promoted ─► grace ─► delete old

The new key is verified before it is written, so a key that fails verification never replaces a good one
(I1); the old key is deleted only once its replacement is in Vault, verified, and the grace period is over
(I2). Every run first resumes whatever a crash left: a key created but never stored is deleted, one stored
but not journaled is promoted (I3). Each step is idempotent, and the journal's check-and-set makes a second
actor lose cleanly (I4).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import structlog

from rotator import __version__
from rotator.domain.journal import HISTORY_LIMIT, JournalError, Rotation, SecretState
from rotator.domain.keys import AccessScope, ApiKey, CreatedKey
from rotator.domain.outcome import Outcome, Result
from rotator.domain.policy import rotation_due_at
from rotator.domain.rotation import (
    AdoptBy,
    AdoptionError,
    DeleteOld,
    HoldStillInUse,
    Phase,
    PlanError,
    ReplacementSpec,
    WaitForGrace,
    backoff_after,
    deletion_decision,
    find_adoptable,
    find_orphans,
    mismatches,
    plan_replacement,
    unfingerprinted_suspects,
)
from rotator.failpoints import failpoint
from rotator.langsmith import CreateOutcomeUnknownError, LangSmithClient, LangSmithError, LangSmithNotFoundError
from rotator.observability import redact_text
from rotator.settings import ManagedSecretSettings, OrgSettings
from rotator.vault import (
    CasConflictError,
    KvStore,
    SecretVersion,
    VaultAuthError,
    VaultConfigError,
    VaultError,
    VaultNotFoundError,
    VaultPermissionError,
    VaultRequestError,
    VaultSealedError,
)
from rotator.vault.journal import JournalStore

__all__ = ["MustStop", "Outcome", "Result", "RotationSaga", "SagaFailure"]  # Outcome, Result: for callers' ease

log = structlog.get_logger(__name__)

VERIFY_ATTEMPTS = 3
VERIFY_FIRST_WAIT_SECONDS = 1.0
VerifierFactory = Callable[[str, ReplacementSpec], LangSmithClient]
"""Builds a client that authenticates with a new key's secret, scoped like that key."""


class SagaFailure(Exception):
    """A step failed in a way that ends this run for the secret; ``message`` is safe to log."""


class MustStop(Exception):
    """Raised by a guard: this process may not change keys now. The journal says where the run stopped."""


class _LostRace(Exception):
    pass


_REFUSED = (
    VaultPermissionError,
    VaultAuthError,
    VaultRequestError,
    VaultConfigError,
    VaultNotFoundError,
    VaultSealedError,
)
"""Vault errors that answer a write without performing it: a new key refused this way may be deleted at once."""


class _WriteRefused(Exception):
    """Vault refused to write the target path: nothing was stored."""

    def __init__(self, error: VaultError) -> None:
        super().__init__(str(error))
        self.error = error


class RotationSaga:
    """Runs one managed secret forward by as many steps as are due now."""

    def __init__(
        self,
        *,
        secret: ManagedSecretSettings,
        org: OrgSettings,
        admin: LangSmithClient,
        kv: KvStore,
        journal: JournalStore,
        verifier: VerifierFactory,
        max_age: timedelta,
        now: Callable[[], datetime],
        dry_run: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        guard: Callable[[], None] = lambda: None,
    ) -> None:
        self.secret = secret
        self.org = org
        self.admin = admin
        self.kv = kv
        self.journal = journal
        self.verifier = verifier
        self.max_age = max_age
        self.now = now
        self.dry_run = dry_run
        self.sleep = sleep
        self.guard = guard
        """Raises when this process may no longer change keys (lease lost, shutting down). Checked before each
        LangSmith create or delete and each write of the target path; journal writes rely on check-and-set."""
        self._version = 0
        self._current_key_id: str | None = None
        self._promoted = False
        self._retiring: str | None = None
        self._log = log.bind(managed=secret.name, org=org.name)

    def run(self, *, force: bool = False) -> Outcome:
        try:
            return self._run(force)
        except _LostRace:
            return self._outcome(Result.SKIPPED, "another rotator wrote this secret's journal first; it carries on")
        except MustStop as stop:
            self._log.info("rotation.stopped", reason=str(stop))
            return self._outcome(Result.SKIPPED, f"stopped before the next change: {stop}")
        except (SagaFailure, LangSmithError, VaultError, JournalError) as error:
            message = redact_text(str(error))
            self._log.error("rotation.failed", error=message)
            return self._outcome(Result.FAILED, message)

    def _run(self, force: bool) -> Outcome:
        state, self._version = self.journal.load(self.secret.name)
        self._current_key_id = state.current_key_id
        keys = self.admin.list_org_service_keys()
        if state.rotation is not None:
            state, outcome = self._resume(state, state.rotation, keys)
            if outcome is not None:
                return outcome
        if state.current_key_id is None:
            state = self._adopt(state, keys)
        current = _by_id(keys, state.current_key_id)
        if current is None:
            raise SagaFailure(
                f"the managed key {state.current_key_id} is gone from LangSmith (deleted by hand?): Vault holds a "
                "key that no longer authenticates; create a key by hand, store it, and adopt it by key_id"
            )
        target = self.kv.read(self.secret.path)
        due_at = self._due_at(current, target)
        now = self.now()
        if not force and due_at > now:
            return self._outcome(Result.IDLE, f"next rotation due {due_at:%Y-%m-%d %H:%M} UTC")
        if not force and state.next_attempt_at is not None and state.next_attempt_at > now:
            return self._outcome(
                Result.WAITING,
                f"backing off after {state.failures} failure(s) until {state.next_attempt_at:%Y-%m-%d %H:%M} UTC",
            )
        return self._rotate(state, current, target)

    # ── adoption and due time ────────────────────────────────────────────────────────────────────────────

    def _adopt(self, state: SecretState, keys: Sequence[ApiKey]) -> SecretState:
        adopt = AdoptBy(
            key_id=str(self.secret.adopt.key_id) if self.secret.adopt.key_id else None,
            description=self.secret.adopt.description,
        )
        try:
            key = find_adoptable(keys, adopt)
        except AdoptionError as error:
            raise SagaFailure(f"cannot adopt: {error}") from None
        target = self.kv.read(self.secret.path)
        stored_id = target.data.get("key_id") if target else None
        if stored_id is not None and stored_id != key.id:
            raise SagaFailure(f"cannot adopt key {key.id}: {self._target_name()} holds key {stored_id}")
        if self.dry_run:
            self._log.info("rotation.would_adopt", key_id=key.id)
            return state.advance(current_key_id=key.id)
        self._log.info("rotation.adopted", key_id=key.id, short_key=key.short_key, in_vault=target is not None)
        return self._save(state.advance(current_key_id=key.id))

    def _due_at(self, current: ApiKey, target: SecretVersion | None) -> datetime:
        if target is None or self.secret.field not in target.data:
            return self.now()  # nothing in Vault yet: apps need a key there now
        return rotation_due_at(current, rotate_before=self.secret.rotate_before, max_age=self.max_age)

    # ── the forward path ─────────────────────────────────────────────────────────────────────────────────

    def _rotate(self, state: SecretState, current: ApiKey, target: SecretVersion | None) -> Outcome:
        try:
            spec = plan_replacement(
                current,
                self.admin.list_workspaces(),
                lifetime=self.secret.lifetime,
                max_expiry_days=self.admin.org_info().max_service_key_expiry_days,
                now=self.now(),
            )
        except PlanError as error:
            return self._fail(state, f"cannot plan the replacement: {error}")
        if self.dry_run:
            return self._outcome(Result.PLANNED, f"would rotate {current.short_key}: {_describe(spec)}")
        rotation = Rotation(
            id=str(uuid.uuid4()),
            phase=Phase.INTENT,
            started_at=self.now(),
            old_key_id=current.id,
            spec=spec,
            target_version=target.version if target else 0,
        )
        state = self._save(state.advance(rotation=rotation))
        failpoint("after_intent")
        try:
            created = self._create(spec)
        except CreateOutcomeUnknownError as error:
            self._log.warning("rotation.create_outcome_unknown", error=redact_text(str(error)))
            return self._fail(state, f"create failed with an unknown outcome; the next run cleans up: {error.message}")
        except LangSmithError as error:
            return self._fail(state.advance(rotation=None), f"create refused: {error}")
        rotation = _with(rotation, phase=Phase.CREATED, new_key_id=created.key.id, new_short_key=created.key.short_key)
        state = self._save(state.advance(rotation=rotation))
        failpoint("after_create")
        self._log.info("rotation.created", new_key_id=created.key.id, short_key=created.key.short_key)
        problem = self._verify(created, spec)
        if problem is not None:
            self._delete_key(created.key.id, "it failed verification")
            return self._fail(state.advance(rotation=None), f"the new key failed verification: {problem}")
        failpoint("after_verify")
        try:
            stored_version = self._store(created, rotation)
        except CasConflictError:
            self._delete_key(created.key.id, "another writer changed the Vault path")
            return self._fail(
                state.advance(rotation=None), f"{self._target_name()} changed during rotation (check-and-set lost)"
            )
        except _WriteRefused as refused:
            self._delete_key(created.key.id, "Vault refused to store it")
            return self._fail(state.advance(rotation=None), f"cannot store the new key: {refused.error}")
        except VaultError as error:
            # The write may or may not have landed: keep the journal at "created" for the next run to check.
            return self._fail(state, f"storing the new key failed; the next run finishes or undoes it: {error}")
        failpoint("after_vault_write")
        state = self._promote(state, rotation, stored_version)
        failpoint("after_promote")
        return self._continue_grace(state)

    def _create(self, spec: ReplacementSpec) -> CreatedKey:
        self.guard()
        return self.admin.create_org_service_key(
            description=spec.description,
            expires_at=spec.expires_at,
            workspace_ids=spec.workspace_ids,
            role_id=spec.role_id,
            org_role_id=spec.org_role_id,
        )

    def _verify(self, created: CreatedKey, spec: ReplacementSpec) -> str | None:
        """None when the new key authenticates and is listed as planned; else what is wrong."""
        wait = VERIFY_FIRST_WAIT_SECONDS
        for attempt in range(1, VERIFY_ATTEMPTS + 1):
            try:
                with self.verifier(created.secret, spec) as client:
                    if spec.access_scope is AccessScope.ORGANIZATION:
                        client.org_info()
                    else:
                        client.current_workspace()
                break
            except LangSmithError as error:
                if attempt == VERIFY_ATTEMPTS:
                    return f"it does not authenticate: {error}"
                self.sleep(wait)  # a new key may take a moment to be accepted everywhere
                wait *= 2
        listed = _by_id(self.admin.list_org_service_keys(), created.key.id)
        if listed is None:
            return "it is not listed by LangSmith"
        differences = mismatches(listed, spec)
        return f"it is listed with a different {', '.join(differences)}" if differences else None

    def _store(self, created: CreatedKey, rotation: Rotation) -> int:
        data = {
            self.secret.field: created.secret,
            "key_id": created.key.id,
            "short_key": created.key.short_key,
            "expires_at": created.key.expires_at.isoformat() if created.key.expires_at else "",
            "org_id": str(self.org.organization_id),
            "endpoint": self.org.endpoint,
        }
        self.guard()
        try:
            version = self.kv.write(self.secret.path, data, cas=rotation.target_version)
        except _REFUSED as error:
            raise _WriteRefused(error) from error
        back = self.kv.read(self.secret.path)
        if back is None or back.version != version or back.data.get(self.secret.field) != created.secret:
            raise SagaFailure(f"{self._target_name()} did not read back as written (version {version})")
        failpoint("before_vault_metadata")
        self._record_rotation(rotation)
        self._log.info("rotation.stored", path=self._target_name(), version=version, key_id=created.key.id)
        return version

    def _record_rotation(self, rotation: Rotation) -> None:
        """Custom metadata on the target path: when and by what it was rotated, and the key it replaced."""
        self.kv.set_custom_metadata(
            self.secret.path,
            {
                "rotated_at": self.now().isoformat(),
                "rotated_by": f"langsmith-key-rotator/{__version__} on {socket.gethostname()}",
                "previous_key_id": rotation.old_key_id,
                "rotation_id": rotation.id,
                "managed_name": self.secret.name,
            },
        )

    def _promote(self, state: SecretState, rotation: Rotation, stored_version: int) -> SecretState:
        now = self.now()
        assert rotation.new_key_id is not None
        self._promoted = True
        self._log.info("rotation.promoted", new_key_id=rotation.new_key_id, old_key_id=rotation.old_key_id)
        return self._save(
            state.advance(
                current_key_id=rotation.new_key_id,
                rotation=_with(rotation, phase=Phase.PROMOTED, stored_version=stored_version, promoted_at=now),
                failures=0,
                next_attempt_at=None,
                last_error=None,
            )
        )

    def _continue_grace(self, state: SecretState) -> Outcome:
        """Delete the old key once its grace period is over; otherwise say when."""
        rotation = state.rotation
        assert rotation is not None and rotation.promoted_at is not None
        old = _by_id(self.admin.list_org_service_keys(), rotation.old_key_id)
        decision = (
            DeleteOld()
            if old is None
            else deletion_decision(
                old,
                promoted_at=rotation.promoted_at,
                grace_period=self.secret.grace_period,
                max_grace=self.secret.max_grace,
                now=self.now(),
            )
        )
        new = rotation.new_short_key or rotation.new_key_id
        if not isinstance(decision, DeleteOld):
            self._retiring = rotation.old_key_id
        if isinstance(decision, WaitForGrace):
            return self._outcome(
                Result.ROTATED if self._promoted else Result.WAITING,
                f"{new} is in {self._target_name()}; old key deleted after {decision.until:%Y-%m-%d %H:%M} UTC",
            )
        if isinstance(decision, HoldStillInUse):
            if not rotation.hold_reported:
                self._log.warning(
                    "rotation.old_key_still_in_use",
                    old_key_id=rotation.old_key_id,
                    last_used_at=decision.last_used_at.isoformat(),
                    hold_until=decision.until.isoformat(),
                )
                if not self.dry_run:
                    state = self._save(state.advance(rotation=_with(rotation, hold_reported=True)))
            return self._outcome(
                Result.HELD,
                f"old key still used {decision.last_used_at:%Y-%m-%d %H:%M} UTC after the switch to {new}: "
                f"deletion held until {decision.until:%Y-%m-%d %H:%M} UTC — find the consumer still reading it",
            )
        if self.dry_run:
            return self._outcome(Result.PLANNED, f"would delete the old key {rotation.old_key_id}")
        if old is not None:
            self._delete_key(rotation.old_key_id, "its grace period is over")
        failpoint("after_delete")
        history = (*state.history, rotation.old_key_id)[-HISTORY_LIMIT:]
        self._save(state.advance(rotation=None, history=history))
        self._log.info("rotation.completed", old_key_id=rotation.old_key_id, new_key_id=rotation.new_key_id)
        return self._outcome(Result.COMPLETED, f"{new} in {self._target_name()}; old key {rotation.old_key_id} deleted")

    # ── recovery ─────────────────────────────────────────────────────────────────────────────────────────

    def _resume(
        self, state: SecretState, rotation: Rotation, keys: Sequence[ApiKey]
    ) -> tuple[SecretState, Outcome | None]:
        """Finish or undo what an earlier run left; an outcome means this run stops there."""
        if rotation.phase is Phase.PROMOTED:
            return state, self._continue_grace(state)
        if rotation.phase is Phase.CREATED and rotation.new_key_id is not None:
            target = self.kv.read(self.secret.path)
            if target is not None and target.data.get("key_id") == rotation.new_key_id:
                if self.dry_run:
                    return state, self._outcome(Result.PLANNED, "would promote the key a crash left stored in Vault")
                self._log.info("rotation.recovered_stored_key", new_key_id=rotation.new_key_id)
                if target.custom_metadata.get("rotation_id") != rotation.id:
                    self._record_rotation(rotation)  # the crash came between the write and its metadata
                return state, self._continue_grace(self._promote(state, rotation, target.version))
            doomed = [rotation.new_key_id]
        else:
            known = [rotation.old_key_id, *(state.history), *filter(None, [state.current_key_id])]
            if rotation.spec.expires_at is None:
                self._refuse_unfingerprinted(rotation, keys, known)
            doomed = [
                key.id
                for key in find_orphans(
                    keys,
                    description=rotation.spec.description,
                    planned_expires_at=rotation.spec.expires_at,
                    intent_at=rotation.started_at,
                    known_ids=known,
                )
            ]
        if self.dry_run:
            return state, self._outcome(Result.PLANNED, f"would delete {len(doomed)} key(s) a crash left unstored")
        for key_id in doomed:
            self._delete_key(key_id, "a crash left it created but never stored")
        self._log.info("rotation.rolled_back", phase=rotation.phase.value, deleted=doomed)
        return self._save(state.advance(rotation=None)), None

    def _refuse_unfingerprinted(self, rotation: Rotation, keys: Sequence[ApiKey], known: Sequence[str]) -> None:
        suspects = unfingerprinted_suspects(
            keys, description=rotation.spec.description, intent_at=rotation.started_at, known_ids=known
        )
        if suspects:
            raise SagaFailure(
                f"a create whose answer was lost may have made key(s) {', '.join(key.id for key in suspects)} "
                f"({rotation.spec.description!r}, never expiring); a key that never expires cannot be told from one "
                "made by hand, so it is not deleted: delete it in LangSmith unless someone made it on purpose (then "
                "give it another description); the rotation resumes once no such key is left"
            )

    # ── helpers ──────────────────────────────────────────────────────────────────────────────────────────

    def _delete_key(self, key_id: str, why: str) -> None:
        """Delete a key; already gone is success. Other errors propagate, leaving the journal where it was,
        so the next run retries the delete rather than forgetting the key."""
        self.guard()
        try:
            self.admin.delete_org_service_key(key_id)
            self._log.info("rotation.key_deleted", key_id=key_id, reason=why)
        except LangSmithNotFoundError:
            self._log.info("rotation.key_already_gone", key_id=key_id, reason=why)

    def _fail(self, state: SecretState, message: str) -> Outcome:
        if self.dry_run:  # a dry run records nothing, not even its failure
            self._log.error("rotation.failed", error=message, dry_run=True)
            return self._outcome(Result.FAILED, message)
        failures = state.failures + 1
        next_attempt = self.now() + backoff_after(failures)
        self._log.error("rotation.failed", error=message, failures=failures, next_attempt_at=next_attempt.isoformat())
        try:
            self._save(state.advance(failures=failures, next_attempt_at=next_attempt, last_error=message))
        except (VaultError, _LostRace) as error:
            self._log.error("rotation.backoff_not_saved", error=redact_text(str(error)))
        return self._outcome(Result.FAILED, f"{message}; next attempt after {next_attempt:%Y-%m-%d %H:%M} UTC")

    def _save(self, state: SecretState) -> SecretState:
        try:
            self._version = self.journal.save(self.secret.name, state, self._version)
        except CasConflictError:
            raise _LostRace from None
        self._current_key_id = state.current_key_id
        return state

    def _outcome(self, result: Result, message: str) -> Outcome:
        return Outcome(self.secret.name, result, message, self._current_key_id, self._promoted, self._retiring)

    def _target_name(self) -> str:
        return f"{self.kv.mount}/{self.secret.path}"


def _by_id(keys: Sequence[ApiKey], key_id: str | None) -> ApiKey | None:
    return next((key for key in keys if key.id == key_id), None)


def _with(rotation: Rotation, **changes: object) -> Rotation:
    return replace(rotation, **changes)  # type: ignore[arg-type]


def _describe(spec: ReplacementSpec) -> str:
    scope = "org-wide" if spec.workspace_ids is None else f"workspaces {', '.join(spec.workspace_names)}"
    expiry = f"expiring {spec.expires_at:%Y-%m-%d}" if spec.expires_at else "never expiring"
    return f"create {scope} key {spec.description!r}, {expiry}"

"""The rotation saga for one managed secret, after AWS Secrets Manager's steps and Vault's write-ahead log.

Each step is journaled in Vault before the next one runs (see ``rotator.domain.rotation.Phase``):

    intent ─► create ─► created ─► verify ─► write target (CAS) + read back ─► promoted
                                                                   the old key: retiring ─► grace ─► delete

The new key is verified before it is written, so a key that fails verification never replaces a good one
(I1); the old key is deleted only once its replacement is in Vault, verified, and the grace period is over
(I2). Old keys wait apart from the rotation in flight, so a grace period never delays the next rotation.
Every run first resumes whatever a crash left: a key created but never stored is deleted, one stored
but not journaled is promoted (I3). Each step is idempotent, and the journal's check-and-set makes a second
actor lose cleanly (I4).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from rotator import __version__
from rotator.config import ManagedSecretSettings, OrgSettings
from rotator.domain.journal import HISTORY_LIMIT, Fingerprint, JournalError, Retiring, Rotation, SecretState
from rotator.domain.keys import AccessScope, ApiKey, CreatedKey, is_secret_of
from rotator.domain.outcome import Outcome, Result
from rotator.domain.policy import rotation_due_at
from rotator.domain.rotation import (
    AdoptBy,
    AdoptionError,
    DeleteOld,
    DeletionDecision,
    HoldStillInUse,
    Phase,
    Pins,
    PlanError,
    ReplacementSpec,
    WaitForGrace,
    backoff_after,
    deletion_decision,
    expiry_cap_days,
    find_adoptable,
    find_orphans,
    mismatches,
    own_lifetime,
    plan_replacement,
    resolve_role,
    unfingerprinted_suspects,
    workspace_ids_for,
)
from rotator.domain.timing import timing_problems
from rotator.failpoints import failpoint
from rotator.langsmith import CreateOutcomeUnknownError, LangSmithError, LangSmithNotFoundError
from rotator.observability import redact_text
from rotator.ports import JsonValue, KeyAdmin, SecretTarget, SecretVersion, StoreError, WriteConflict
from rotator.state import JournalStore

__all__ = ["MustStop", "Outcome", "Result", "RotationSaga", "SagaFailure"]  # Outcome, Result: for callers' ease

log = structlog.get_logger(__name__)

VERIFY_ATTEMPTS = 3
# An adopted original missing from this many listings is taken to be gone, and deleted by id (a stale read
# leaves a key out once, not run after run).
UNLISTED_RUNS_TO_DELETE = 3
VERIFY_FIRST_WAIT_SECONDS = 1.0
VerifierFactory = Callable[[str, str | None], KeyAdmin]
"""Builds a client that authenticates with a key's secret, in the given workspace (None: org-wide)."""


class SagaFailure(Exception):
    """A step failed in a way that ends this run for the secret; ``message`` is safe to log."""


class MustStop(Exception):
    """Raised by a guard: this process may not change keys now. The journal says where the run stopped."""


class _LostRace(Exception):
    pass


class _JournalFailed(Exception):
    """The journal could not record a key this run created; the key was deleted."""

    def __init__(self, error: StoreError) -> None:
        super().__init__(str(error))
        self.error = error


class _WriteRefused(Exception):
    """The target refused the write: nothing was stored."""

    def __init__(self, error: StoreError) -> None:
        super().__init__(str(error))
        self.error = error


_PRECEDENCE = (
    Result.FAILED,
    Result.REFUSED,
    Result.HELD,
    Result.ROTATED,
    Result.ADOPTED,
    Result.COMPLETED,
    Result.PLANNED,
    Result.WAITING,
    Result.IDLE,
)


class RotationSaga:
    """Runs one managed secret forward by as many steps as are due now."""

    def __init__(
        self,
        *,
        secret: ManagedSecretSettings,
        org: OrgSettings,
        admin: KeyAdmin,
        target: SecretTarget,
        journal: JournalStore,
        verifier: VerifierFactory,
        max_age: timedelta,
        now: Callable[[], datetime],
        dry_run: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        guard: Callable[[], None] = lambda: None,
        own_admin_key: Callable[[ApiKey, str | None], str | None] = lambda key, stored: None,
        on_promoted: Callable[[str], None] | None = None,
    ) -> None:
        self.secret = secret
        self.org = org
        self.admin = admin
        self.target = target
        self.journal = journal
        self.verifier = verifier
        self.max_age = max_age
        self.now = now
        self.dry_run = dry_run
        self.sleep = sleep
        self.guard = guard
        """Raises when this process may no longer change keys (lease lost, shutting down). Checked before each
        LangSmith create or delete and each write of the target path; journal writes rely on check-and-set."""
        self.own_admin_key = own_admin_key
        """Why ``key`` (whose secret the target holds, when it does) may not be rotated here, when it is the
        rotator's own admin key and the rotator could not switch to its replacement; else None."""
        self.on_promoted = on_promoted
        """Called with the secret the target now holds, once its promotion is journaled: for the rotator's own
        admin key, the switch to the new key, before the old one can be deleted."""
        self._version = 0
        self._state = SecretState()
        self._promoted = False
        self._held: str | None = None
        self._notes: list[tuple[Result, str]] = []
        self._log = log.bind(managed=secret.name, org=org.name)

    def run(self, *, force: bool = False, revoke_old: bool = False) -> Outcome:
        """One run; ``force`` rotates past the due time and any backoff, ``revoke_old`` also deletes every
        older key of the secret as soon as the new one is in Vault (a leak response)."""
        return self._guarded(lambda: self._run(force=force or revoke_old, revoke_old=revoke_old))

    def import_secret(self, secret_value: str) -> Outcome:
        """Adopt the managed key with its existing secret, stored in Vault as it is: no new key is made."""
        return self._guarded(lambda: self._import(secret_value))

    def _guarded(self, step: Callable[[], Outcome]) -> Outcome:
        try:
            return step()
        except _LostRace:
            return self._outcome(Result.SKIPPED, "another rotator wrote this secret's journal first; it carries on")
        except _JournalFailed as failed:
            return self._fail(
                self._state.advance(rotation=None),
                f"the journal could not record the new key, so it was deleted: {redact_text(str(failed.error))}",
            )
        except MustStop as stop:
            self._log.info("rotation.stopped", reason=str(stop))
            return self._outcome(Result.SKIPPED, f"stopped before the next change: {stop}")
        except (SagaFailure, LangSmithError, StoreError, JournalError) as error:
            message = redact_text(str(error))
            self._log.error("rotation.failed", error=message)
            return self._outcome(Result.FAILED, message)

    def _run(self, *, force: bool, revoke_old: bool) -> Outcome:
        state = self._load()
        keys = self.admin.list_org_service_keys()
        if state.rotation is not None:
            state = self._resume(state, state.rotation, keys)
        state = self._sweep_lost_creates(state, keys)
        if state.current_key_id is None:
            state = self._adopt(state, keys)
        current = _by_id(keys, state.current_key_id)
        if current is None:
            raise SagaFailure(
                f"the managed key {state.current_key_id} is gone from LangSmith (deleted by hand?), or this listing "
                "left it out: if it is gone, Vault holds a key that no longer authenticates; create a key by hand, "
                "store it, and adopt it"
            )
        target = self.target.read()
        refusal = self.own_admin_key(current, self._stored_secret_of(current, target))
        if refusal is not None:
            raise SagaFailure(
                f"key {current.short_key} is the rotator's own admin key for org {self.org.name}: {refusal}"
            )
        if revoke_old:
            state = self._retire(state, keys, revoke=True)
            return self._rotate(state, current, target, revoke_old=True)
        state = self._retire(state, keys)
        if force and state.retiring:
            pending = ", ".join(old.key_id for old in state.retiring)
            return self._outcome(
                Result.REFUSED,
                f"old key(s) {pending} still wait to be deleted; a rotation now would add another: use "
                f"`rotator rotate {self.secret.name} --revoke-old` to delete them at once (a leak), or wait",
            )
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

    def _adoptable(self, keys: Sequence[ApiKey], target: SecretVersion | None) -> ApiKey:
        configured = self.secret.adopt
        if configured is not None:
            adopt = AdoptBy(str(configured.key_id) if configured.key_id else None, configured.description)
        else:
            held = target.data.get(self.secret.field) if target is not None else None
            if not isinstance(held, str) or not held:
                raise SagaFailure(
                    f"cannot adopt: {self.target.name} holds no key to start from; give managed[].adopt (key_id or "
                    "description)"
                )
            stored_id = target.data.get("key_id") if target is not None else None
            adopt = AdoptBy(key_id=stored_id if isinstance(stored_id, str) else None, secret=held)
        try:
            return find_adoptable(keys, adopt)
        except AdoptionError as error:
            raise SagaFailure(f"cannot adopt: {error}") from None

    def _adopt(self, state: SecretState, keys: Sequence[ApiKey]) -> SecretState:
        target = self.target.read()
        key = self._adoptable(keys, target)
        stored_id = target.data.get("key_id") if target else None
        if stored_id is not None and stored_id != key.id:
            raise SagaFailure(f"cannot adopt key {key.id}: {self.target.name} holds key {stored_id}")
        if self.dry_run:
            self._log.info("rotation.would_adopt", key_id=key.id)
            return state.advance(current_key_id=key.id)
        self._log.info("rotation.adopted", key_id=key.id, short_key=key.short_key, in_vault=target is not None)
        return self._save(state.advance(current_key_id=key.id))

    def _stored_secret_of(self, key: ApiKey, target: SecretVersion | None) -> str | None:
        """``key``'s secret, when the target holds it (its key_id says so)."""
        if target is None or target.data.get("key_id") != key.id:
            return None
        value = target.data.get(self.secret.field)
        return value if isinstance(value, str) else None

    def _in_vault(self, target: SecretVersion | None) -> bool:
        return target is not None and self.secret.field in target.data

    def _due_at(self, current: ApiKey, target: SecretVersion | None) -> datetime:
        if not self._in_vault(target):
            return self.now()  # nothing in Vault yet: apps need a key there now
        if "expires_at" in current.unread:
            # LangSmith did not say when the key expires: only the configured lifetime can.
            if self.secret.lifetime is None or current.created_at is None:
                return self.now()  # the plan refuses, asking for managed[].lifetime
            current = replace(current, expires_at=current.created_at + self.secret.lifetime)
        return rotation_due_at(current, rotate_before=self.secret.rotate_before, max_age=self.max_age)

    def _import(self, secret_value: str) -> Outcome:
        state = self._load()
        if state.rotation is not None or state.retiring:
            raise SagaFailure("a rotation of this secret is under way; import a secret only into an idle one")
        keys = self.admin.list_org_service_keys()
        target = self.target.read()
        key = _by_id(keys, state.current_key_id) if state.current_key_id else self._adoptable(keys, target)
        if key is None:
            raise SagaFailure(f"the managed key {state.current_key_id} is not in LangSmith's listing")
        if target is not None and self._in_vault(target):
            raise SagaFailure(
                f"{self.target.name} already holds a key ({target.data.get('key_id', 'unnamed')}); nothing to import"
            )
        if not is_secret_of(secret_value, key):
            raise SagaFailure(f"the secret given is not key {key.short_key} (its prefix does not match)")
        problem = self._authenticates(secret_value, key)
        if problem is not None:
            raise SagaFailure(f"the secret given for key {key.short_key} {problem}")
        if self.dry_run:
            return self._outcome(Result.PLANNED, f"would store key {key.short_key} in {self.target.name}")
        self.guard()
        version = self.target.write(self._target_data(secret_value, key), cas=target.version if target else 0)
        self._save(state.advance(current_key_id=key.id))
        self._log.info("rotation.imported", key_id=key.id, path=self.target.name, version=version)
        return self._outcome(Result.ADOPTED, f"key {key.short_key} stored in {self.target.name} (version {version})")

    # ── the forward path ─────────────────────────────────────────────────────────────────────────────────

    def _plan(self, current: ApiKey) -> ReplacementSpec:
        scope = self.secret.scope
        pins = Pins(
            scope=None
            if scope is None
            else AccessScope.ORGANIZATION
            if scope == "organization"
            else AccessScope.WORKSPACE,
            workspace_names=tuple(scope) if isinstance(scope, list) else None,
            lifetime=self.secret.lifetime,
        )
        if self.secret.role is not None or self.secret.org_role is not None:
            roles = self.admin.list_roles()
            pins = replace(
                pins,
                role_id=resolve_role(self.secret.role, roles, AccessScope.WORKSPACE, "role"),
                org_role_id=resolve_role(self.secret.org_role, roles, AccessScope.ORGANIZATION, "org_role"),
            )
        spec = plan_replacement(
            current,
            self.admin.list_workspaces() if pins.scope is not AccessScope.ORGANIZATION else (),
            pins=pins,
            max_expiry_days=expiry_cap_days(self.admin.org_info()),
            now=self.now(),
        )
        lifetime = own_lifetime(current)
        if self.secret.lifetime is None and lifetime is not None:
            problems = timing_problems(
                lifetime=lifetime,
                rotate_before=self.secret.rotate_before,
                grace_period=self.secret.grace_period,
                max_grace=self.secret.max_grace,
            )
            if problems:
                raise PlanError(f"with the key's own lifetime, managed[].{problems[0]}")
        return spec

    def _rotate(
        self, state: SecretState, current: ApiKey, target: SecretVersion | None, *, revoke_old: bool = False
    ) -> Outcome:
        try:
            spec = self._plan(current)
        except PlanError as error:
            return self._fail(state, f"cannot plan the replacement: {error}")
        adopted_original = not self._in_vault(target)
        if self.dry_run:
            return self._outcome(Result.PLANNED, _describe(current, spec, adopted_original, revoke_old))
        denied = self.target.write_refusal(exists=target is not None)
        if denied is not None:
            return self._fail(state, f"no key was created: {denied}")
        if spec.unlisted:
            self._log.warning("rotation.fields_from_config", fields=list(spec.unlisted))
        rotation = Rotation(
            id=str(uuid.uuid4()),
            phase=Phase.INTENT,
            started_at=self.now(),
            old_key_id=current.id,
            spec=spec,
            target_version=target.version if target else 0,
            revoke_old=revoke_old,
            adopted_original=adopted_original,
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
        state = self._save_owning(state.advance(rotation=rotation), created.key.id)
        failpoint("after_create")
        self._log.info("rotation.created", new_key_id=created.key.id, short_key=created.key.short_key)
        problem, listing = self._verify(created, spec)
        if problem is not None:
            self._delete_key(created.key.id, "it failed verification")
            return self._fail(state.advance(rotation=None), f"the new key failed verification: {problem}")
        failpoint("after_verify")
        # Claim the journal again just before the write: a second actor recovering this rotation meanwhile
        # has claimed it first (and this run stops), or finds this claim and stops before deleting anything.
        state = self._save_owning(state, created.key.id)
        try:
            stored_version = self._store(created, rotation)
        except WriteConflict:
            self._delete_key(created.key.id, "another writer changed the Vault path")
            return self._fail(
                state.advance(rotation=None), f"{self.target.name} changed during rotation (check-and-set lost)"
            )
        except _WriteRefused as refused:
            self._delete_key(created.key.id, "Vault refused to store it")
            return self._fail(state.advance(rotation=None), f"cannot store the new key: {refused.error}")
        except StoreError as error:
            # The write may or may not have landed: keep the journal at "created" for the next run to check.
            return self._fail(state, f"storing the new key failed; the next run finishes or undoes it: {error}")
        failpoint("after_vault_write")
        state = self._promote(state, rotation, created.key.id, created.secret)
        failpoint("after_promote")
        new = created.key.short_key or created.key.id
        self._note(Result.IDLE, f"{new} is in {self.target.name} (version {stored_version})")
        if adopted_original:
            self._note(
                Result.IDLE,
                f"the adopted key {current.short_key} was never in Vault: it is kept until LangSmith shows its "
                "consumers stopped using it",
            )
        # The listing that verified the new key, moments ago, is as good as a new one for the old keys' fate.
        self._retire(state, listing, revoke=revoke_old)
        return self._outcome(Result.IDLE, "")

    def _create(self, spec: ReplacementSpec) -> CreatedKey:
        self.guard()
        return self.admin.create_org_service_key(
            description=spec.description,
            expires_at=spec.expires_at,
            workspace_ids=spec.workspace_ids,
            role_id=spec.role_id,
            org_role_id=spec.org_role_id,
        )

    def _authenticates(self, secret: str, key: ApiKey) -> str | None:
        """None when ``secret`` authenticates as a key scoped like ``key``; else what went wrong."""
        workspace = None
        if key.access_scope is not AccessScope.ORGANIZATION and key.workspace_names:
            try:
                workspace = workspace_ids_for(key.workspace_names[:1], self.admin.list_workspaces())[0]
            except PlanError as error:
                return f"cannot be checked: {error}"
        return self._auth_problem(secret, workspace)

    def _auth_problem(self, secret: str, workspace: str | None) -> str | None:
        wait = VERIFY_FIRST_WAIT_SECONDS
        for attempt in range(1, VERIFY_ATTEMPTS + 1):
            try:
                with self.verifier(secret, workspace) as client:
                    if workspace is None:
                        client.org_info()
                    else:
                        client.current_workspace()
                return None
            except LangSmithError as error:
                if attempt == VERIFY_ATTEMPTS:
                    return f"does not authenticate: {error}"
                self.sleep(wait)  # a new key may take a moment to be accepted everywhere
                wait *= 2
        raise AssertionError("unreachable")

    def _verify(self, created: CreatedKey, spec: ReplacementSpec) -> tuple[str | None, list[ApiKey]]:
        """None when the new key authenticates and is listed as planned, else what is wrong; and the listing."""
        problem = self._auth_problem(created.secret, spec.workspace_ids[0] if spec.workspace_ids else None)
        if problem is not None:
            return f"it {problem}", []
        keys = self.admin.list_org_service_keys()
        listed = _by_id(keys, created.key.id)
        if listed is None:
            return "it is not listed by LangSmith", keys
        differences = mismatches(listed, spec)
        return (f"it is listed with a different {', '.join(differences)}" if differences else None), keys

    def _target_data(self, secret: str, key: ApiKey) -> dict[str, JsonValue]:
        return {
            self.secret.field: secret,
            "key_id": key.id,
            "short_key": key.short_key,
            "expires_at": key.expires_at.isoformat() if key.expires_at else "",
            "org_id": str(self.org.organization_id),
            "endpoint": self.org.endpoint,
        }

    def _store(self, created: CreatedKey, rotation: Rotation) -> int:
        self.guard()
        try:
            version = self.target.write(self._target_data(created.secret, created.key), cas=rotation.target_version)
        except StoreError as error:
            if error.write_applied is False and not isinstance(error, WriteConflict):
                raise _WriteRefused(error) from error
            raise
        back = self.target.read()
        if back is None or back.version != version or back.data.get(self.secret.field) != created.secret:
            raise SagaFailure(f"{self.target.name} did not read back as written (version {version})")
        failpoint("before_vault_metadata")
        self._record_rotation(rotation)
        self._log.info("rotation.stored", path=self.target.name, version=version, key_id=created.key.id)
        return version

    def _record_rotation(self, rotation: Rotation) -> None:
        """Custom metadata on the target path: when and by what it was rotated, and the key it replaced."""
        self.target.set_custom_metadata(
            {
                "rotated_at": self.now().isoformat(),
                "rotated_by": f"langsmith-key-rotator/{__version__} on {socket.gethostname()}",
                "previous_key_id": rotation.old_key_id,
                "rotation_id": rotation.id,
                "managed_name": self.secret.name,
            },
        )

    def _promote(self, state: SecretState, rotation: Rotation, new_key_id: str, secret: str) -> SecretState:
        old = Retiring(
            key_id=rotation.old_key_id,
            replaced_by=new_key_id,
            promoted_at=self.now(),
            rotation_id=rotation.id,
            adopted_original=rotation.adopted_original,
            revoke=rotation.revoke_old,
        )
        state = self._save(
            state.advance(
                current_key_id=new_key_id,
                rotation=None,
                retiring=(*state.retiring, old),
                failures=0,
                next_attempt_at=None,
                last_error=None,
            )
        )
        self._promoted = True
        self._log.info("rotation.promoted", new_key_id=new_key_id, old_key_id=rotation.old_key_id)
        if secret and self.on_promoted is not None:
            self.on_promoted(secret)
        return state

    # ── old keys ─────────────────────────────────────────────────────────────────────────────────────────

    def _retire(self, state: SecretState, keys: Sequence[ApiKey], *, revoke: bool = False) -> SecretState:
        """Delete every replaced key whose time has come (all of them at once with ``revoke``); note the rest."""
        for old in state.retiring:
            decision = DeleteOld() if revoke or old.revoke else self._deletion_decision(old, _by_id(keys, old.key_id))
            if isinstance(decision, WaitForGrace):
                self._note(Result.WAITING, f"old key {old.key_id} deleted after {decision.until:%Y-%m-%d %H:%M} UTC")
            elif isinstance(decision, HoldStillInUse):
                state = self._hold(state, old, decision)
            elif isinstance(decision, NotListed):
                self._note(
                    Result.WAITING,
                    f"old key {old.key_id} is missing from this listing; it was adopted without being in Vault, "
                    "so it is deleted only once LangSmith shows it unused, or after "
                    f"{UNLISTED_RUNS_TO_DELETE} listings without it",
                )
                if not self.dry_run:
                    counted = replace(old, unlisted_runs=old.unlisted_runs + 1)
                    state = self._save(state.advance(retiring=_replaced(state.retiring, old, counted)))
            elif self.dry_run:
                self._note(Result.PLANNED, f"would delete the old key {old.key_id}")
            else:
                self._delete_key(old.key_id, "revoked" if revoke or old.revoke else "its grace period is over")
                failpoint("after_delete")
                state = self._save(
                    state.advance(
                        retiring=tuple(other for other in state.retiring if other.key_id != old.key_id),
                        history=(*state.history, old.key_id)[-HISTORY_LIMIT:],
                    )
                )
                self._log.info("rotation.completed", old_key_id=old.key_id, new_key_id=old.replaced_by)
                self._note(Result.COMPLETED, f"old key {old.key_id} deleted")
        return state

    def _deletion_decision(self, old: Retiring, listed: ApiKey | None) -> DeletionDecision | NotListed:
        """A key missing from a listing may still exist (lists can be stale), so it is deleted by id, and only
        LangSmith's answer to the DELETE says it is gone. Missing, it shows no use, as a key never used shows
        none: after the grace period it goes, except an adopted original, whose use must be seen to end."""
        now = self.now()
        if listed is None:
            if now < old.promoted_at + self.secret.grace_period:
                return WaitForGrace(old.promoted_at + self.secret.grace_period)
            if old.adopted_original and old.unlisted_runs + 1 < UNLISTED_RUNS_TO_DELETE:
                return NotListed()
            return DeleteOld()
        return deletion_decision(
            listed,
            promoted_at=old.promoted_at,
            grace_period=self.secret.grace_period,
            max_grace=self.secret.max_grace,
            adopted_original=old.adopted_original,
            now=now,
        )

    def _hold(self, state: SecretState, old: Retiring, decision: HoldStillInUse) -> SecretState:
        self._held = old.key_id
        if not old.hold_reported:
            self._log.warning(
                "rotation.old_key_still_in_use",
                old_key_id=old.key_id,
                last_used_at=decision.last_used_at.isoformat(),
                hold_until=decision.until.isoformat(),
                adopted_original=old.adopted_original,
            )
            if not self.dry_run:
                reported = replace(old, hold_reported=True)
                state = self._save(state.advance(retiring=_replaced(state.retiring, old, reported)))
        until = (
            f"kept until it is unused until {decision.until:%Y-%m-%d %H:%M} UTC (it was adopted without being in "
            "Vault, so only its consumers hold it)"
            if old.adopted_original
            else f"deletion held until {decision.until:%Y-%m-%d %H:%M} UTC"
        )
        self._note(
            Result.HELD,
            f"old key {old.key_id} still used {decision.last_used_at:%Y-%m-%d %H:%M} UTC after the switch to "
            f"{old.replaced_by}: {until} — find the consumer still reading it",
        )
        return state

    # ── recovery ─────────────────────────────────────────────────────────────────────────────────────────

    def _resume(self, state: SecretState, rotation: Rotation, keys: Sequence[ApiKey]) -> SecretState:
        """Finish or undo what an earlier run left."""
        if rotation.phase is Phase.CREATED and rotation.new_key_id is not None:
            target = self.target.read()
            if target is not None and target.data.get("key_id") == rotation.new_key_id:
                if self.dry_run:
                    self._note(Result.PLANNED, "would promote the key a crash left stored in Vault")
                    return state.advance(rotation=None, current_key_id=rotation.new_key_id)
                self._log.info("rotation.recovered_stored_key", new_key_id=rotation.new_key_id)
                if target.custom_metadata.get("rotation_id") != rotation.id:
                    self._record_rotation(rotation)  # the crash came between the write and its metadata
                stored = str(target.data.get(self.secret.field, ""))
                return self._promote(state, rotation, rotation.new_key_id, stored)
            if not self.dry_run:
                state = self._save(state)  # the claim, before the fence and the delete
                self._fence(target, rotation)
            doomed = [rotation.new_key_id]
            unresolved = state.unresolved
        else:
            known = state.known_key_ids()
            if rotation.spec.expires_at is None:
                self._refuse_unfingerprinted(rotation, keys, known)
            doomed = [
                key.id
                for key in self._matching(
                    keys, rotation.spec.description, rotation.spec.expires_at, rotation.started_at, known
                )
            ]
            unresolved = state.unresolved
            if rotation.spec.expires_at is not None and not doomed:
                # The create may still land later: keep looking for it on every run until it could not matter.
                unresolved = (
                    *unresolved,
                    Fingerprint(rotation.spec.description, rotation.spec.expires_at, rotation.started_at),
                )
        if self.dry_run:
            self._note(Result.PLANNED, f"would delete {len(doomed)} key(s) a crash left unstored")
            return state.advance(rotation=None)
        state = self._save(state)  # the claim: of two actors recovering one rotation, only one goes on
        for key_id in doomed:
            self._delete_key(key_id, "a crash left it created but never stored")
        self._log.info("rotation.rolled_back", phase=rotation.phase.value, deleted=doomed)
        return self._save(state.advance(rotation=None, unresolved=unresolved))

    def _fence(self, target: SecretVersion | None, rotation: Rotation) -> None:
        """Rewrite the target as it is, one version up, so that an actor still holding the key about to be
        deleted (its check-and-set names the old version) can no longer store it. An empty target (a first
        adoption) gets a version naming the rotation that fenced it, and no key: it held none before."""
        self.guard()
        data: Mapping[str, JsonValue] = target.data if target is not None else {"fenced_by_rotation": rotation.id}
        try:
            self.target.write(data, cas=target.version if target is not None else 0)
        except WriteConflict:
            raise SagaFailure(f"{self.target.name} changed during recovery; the next run decides") from None

    def _sweep_lost_creates(self, state: SecretState, keys: Sequence[ApiKey]) -> SecretState:
        """Delete any key made by a create whose answer was lost, however late it landed; forget a fingerprint
        once its key would have expired."""
        if not state.unresolved:
            return state
        now = self.now()
        live = tuple(fp for fp in state.unresolved if fp.expires_at > now)
        known = state.known_key_ids()
        target = self.target.read()
        if target is not None and isinstance(target.data.get("key_id"), str):
            known.add(str(target.data["key_id"]))
        doomed = [
            key.id for fp in live for key in self._matching(keys, fp.description, fp.expires_at, fp.intent_at, known)
        ]
        if self.dry_run:
            if doomed:
                self._note(Result.PLANNED, f"would delete {len(doomed)} key(s) a lost create made")
            return state
        if not doomed and live == state.unresolved:
            return state
        state = self._save(state)
        for key_id in doomed:
            self._delete_key(key_id, "a create whose answer was lost made it; nobody holds its secret")
        return self._save(state.advance(unresolved=live))

    @staticmethod
    def _matching(
        keys: Sequence[ApiKey],
        description: str,
        expires_at: datetime | None,
        intent_at: datetime,
        known: Collection[str],
    ) -> list[ApiKey]:
        return find_orphans(
            keys, description=description, planned_expires_at=expires_at, intent_at=intent_at, known_ids=list(known)
        )

    def _refuse_unfingerprinted(self, rotation: Rotation, keys: Sequence[ApiKey], known: Collection[str]) -> None:
        suspects = unfingerprinted_suspects(
            keys, description=rotation.spec.description, intent_at=rotation.started_at, known_ids=list(known)
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
        """Delete a key by id; only LangSmith's answer (200, or 404: already gone) counts as deleted. Other
        errors propagate, leaving the journal where it was, so the next run retries the delete."""
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
        except (StoreError, _LostRace) as error:
            why = "another actor wrote the journal since" if isinstance(error, _LostRace) else str(error)
            self._log.error("rotation.backoff_not_saved", error=redact_text(why))
            return self._outcome(
                Result.FAILED, f"{message}; the failure could not be journaled ({why}), so no backoff was recorded"
            )
        return self._outcome(Result.FAILED, f"{message}; next attempt after {next_attempt:%Y-%m-%d %H:%M} UTC")

    def _load(self) -> SecretState:
        self._state, self._version = self.journal.load(self.secret.name)
        return self._state

    def _save(self, state: SecretState) -> SecretState:
        try:
            self._version = self.journal.save(self.secret.name, state, self._version)
        except WriteConflict:
            raise _LostRace from None
        self._state = state
        return state

    def _save_owning(self, state: SecretState, created_id: str) -> SecretState:
        """Save while this run alone holds ``created_id``'s secret, before it is in the target. If the save
        fails (another actor took the journal, or the store refused or lost it), the journal may never name
        the key, and nobody else could delete it: it is deleted now, not left for a fingerprint search."""
        try:
            return self._save(state)
        except _LostRace:
            self._delete_key(created_id, "another rotator took over this secret's journal")
            raise
        except StoreError as error:
            self._delete_key(created_id, "the journal could not record it")
            raise _JournalFailed(error) from error

    def _note(self, result: Result, message: str) -> None:
        self._notes.append((result, message))

    def _outcome(self, result: Result, message: str) -> Outcome:
        results = [result, *(noted for noted, _ in self._notes)]
        if self._promoted:  # this run put a new key in Vault: rotated, or completed once no old key is left
            results.append(Result.ROTATED if self._state.retiring else Result.COMPLETED)
        final = next(r for r in _PRECEDENCE if r in results) if any(r in _PRECEDENCE for r in results) else result
        text = "; ".join(filter(None, [*(noted for _, noted in self._notes), message]))
        return Outcome(
            self.secret.name,
            final,
            text,
            self._state.current_key_id,
            self._promoted,
            tuple(old.key_id for old in self._state.retiring),
            self._held,
        )


@dataclass(frozen=True, slots=True)
class NotListed:
    """The old key is missing from this listing: not proof it is gone, and no word on whether it is used."""


def _replaced(retiring: Sequence[Retiring], old: Retiring, new: Retiring) -> tuple[Retiring, ...]:
    return tuple(new if entry.key_id == old.key_id else entry for entry in retiring)


def _by_id(keys: Sequence[ApiKey], key_id: str | None) -> ApiKey | None:
    return next((key for key in keys if key.id == key_id), None)


def _with(rotation: Rotation, **changes: object) -> Rotation:
    return replace(rotation, **changes)  # type: ignore[arg-type]


def _describe(current: ApiKey, spec: ReplacementSpec, adopted_original: bool, revoke_old: bool) -> str:
    scope = "org-wide" if spec.workspace_ids is None else f"workspaces {', '.join(spec.workspace_names)}"
    expiry = f"expiring {spec.expires_at:%Y-%m-%d}" if spec.expires_at else "never expiring"
    plan = f"would rotate {current.short_key}: create {scope} key {spec.description!r}, {expiry}"
    if spec.unlisted:
        plan += f" ({', '.join(spec.unlisted)} from the config: LangSmith does not list them)"
    if revoke_old:
        return plan + ", store it in Vault, then delete every older key at once"
    if adopted_original:
        return (
            plan + "; nothing is in Vault yet, so this first run makes a new key and stores it there; the adopted "
            f"key {current.short_key} is deleted only once LangSmith shows its consumers stopped using it "
            "(to keep the adopted key instead, import its secret: rotator adopt NAME --secret-stdin)"
        )
    return plan

"""What one managed secret is doing, from its journal, its Vault metadata and LangSmith's listing. Pure.

The answer to "what is the rotator doing with this secret?": its phase (idle, intent, created, grace, held,
deleting, backoff, not adopted), the current key, where it is in Vault, when it is next due, and what went
wrong last. `rotator status` shows it; nothing here changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rotator.domain.check import RetiringMark
from rotator.domain.journal import Retiring, SecretState
from rotator.domain.keys import ApiKey
from rotator.domain.policy import rotation_due_at
from rotator.domain.rotation import HoldStillInUse, Phase, WaitForGrace, deletion_due_at


class SecretPhase(StrEnum):
    IDLE = "idle"  # the current key is in Vault; nothing pending
    NOT_ADOPTED = "not adopted"  # no run has taken the key on yet
    INTENT = "intent"  # a create was journaled; its outcome is checked by the next run
    CREATED = "created"  # a new key exists and is not yet in Vault
    GRACE = "grace"  # the new key is in Vault; an old key waits out its grace period
    HELD = "held"  # an old key is still used after its grace period
    DELETING = "deleting"  # an old key's wait is over: the next run deletes it
    BACKOFF = "backoff"  # the last run failed; the next attempt waits
    UNKNOWN = "unknown"  # its journal could not be read


@dataclass(frozen=True, slots=True)
class KeyView:
    id: str
    short_key: str | None
    """None when LangSmith's listing did not include the key."""
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class RetiringView:
    key: KeyView
    phase: SecretPhase
    until: datetime
    """The end of the grace period or of the hold; for ``deleting``, now."""
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class SecretTimings:
    rotate_before: timedelta | None
    max_age: timedelta
    grace_period: timedelta
    max_grace: timedelta


@dataclass(frozen=True, slots=True)
class SecretStatus:
    name: str
    org: str
    vault_path: str
    vault_version: int | None
    phase: SecretPhase
    detail: str
    current_key: KeyView | None
    retiring: tuple[RetiringView, ...]
    next_due_at: datetime | None
    failures: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_rotated_at: datetime | None
    previous_key: KeyView | None

    @property
    def failing(self) -> bool:
        return self.failures > 0 or self.phase is SecretPhase.UNKNOWN


def unknown_status(*, name: str, org: str, vault_path: str, why: str) -> SecretStatus:
    """A secret whose journal could not be read: nothing is known but where it is, and why."""
    return SecretStatus(
        name, org, vault_path, None, SecretPhase.UNKNOWN, why, None, (), None, 0, None, None, None, None
    )


def secret_status(
    *,
    name: str,
    org: str,
    vault_path: str,
    vault_version: int | None,
    vault_metadata: Mapping[str, str],
    state: SecretState,
    listed: Mapping[str, ApiKey],
    timings: SecretTimings,
    now: datetime,
) -> SecretStatus:
    """``listed``: the org's service keys by id; ``vault_metadata``: the target's custom metadata."""

    def view(key_id: str | None) -> KeyView | None:
        if key_id is None:
            return None
        key = listed.get(key_id)
        return KeyView(key_id, key.short_key if key else None, key.expires_at if key else None)

    retiring = tuple(_retiring(name, old, listed, timings, now) for old in state.retiring)
    current = listed.get(state.current_key_id or "")
    due = (
        rotation_due_at(current, rotate_before=timings.rotate_before, max_age=timings.max_age)
        if current is not None
        else None
    )
    phase, detail = _phase(state, retiring, now)
    previous_id = vault_metadata.get("previous_key_id") or (state.history[-1] if state.history else None)
    return SecretStatus(
        name=name,
        org=org,
        vault_path=vault_path,
        vault_version=vault_version,
        phase=phase,
        detail=detail,
        current_key=view(state.current_key_id),
        retiring=retiring,
        next_due_at=due,
        failures=state.failures,
        next_attempt_at=state.next_attempt_at,
        last_error=state.last_error,
        last_rotated_at=_time(vault_metadata.get("rotated_at")),
        previous_key=view(previous_id),
    )


_PHASE_OF: dict[type, SecretPhase] = {WaitForGrace: SecretPhase.GRACE, HoldStillInUse: SecretPhase.HELD}


def _retiring(
    name: str, old: Retiring, listed: Mapping[str, ApiKey], timings: SecretTimings, now: datetime
) -> RetiringView:
    key = listed.get(old.key_id)
    view = KeyView(old.key_id, key.short_key if key else None, key.expires_at if key else None)
    if key is None:
        return RetiringView(view, SecretPhase.DELETING, now, None)
    mark = RetiringMark(name, old.promoted_at, timings.grace_period, timings.max_grace, old.adopted_original)
    decision = mark.decision(key, now)
    phase = {WaitForGrace: SecretPhase.GRACE, HoldStillInUse: SecretPhase.HELD}.get(
        type(decision), SecretPhase.DELETING
    )
    return RetiringView(view, phase, deletion_due_at(decision, now), key.last_used_at)


def _phase(state: SecretState, retiring: tuple[RetiringView, ...], now: datetime) -> tuple[SecretPhase, str]:
    rotation = state.rotation
    if rotation is not None and rotation.phase is Phase.INTENT:
        return SecretPhase.INTENT, f"a create was journaled at {_at(rotation.started_at)}; the next run checks it"
    if rotation is not None:
        return SecretPhase.CREATED, f"new key {rotation.new_short_key or rotation.new_key_id} is not yet in Vault"
    if state.failures and state.next_attempt_at is not None and state.next_attempt_at > now:
        return SecretPhase.BACKOFF, f"{state.failures} failure(s); next attempt after {_at(state.next_attempt_at)}"
    for phase in (SecretPhase.HELD, SecretPhase.GRACE, SecretPhase.DELETING):
        waiting = [old for old in retiring if old.phase is phase]
        if waiting:
            return phase, _retiring_words(waiting[0])
    if state.current_key_id is None:
        return SecretPhase.NOT_ADOPTED, "no run has adopted the key yet"
    return SecretPhase.IDLE, "the current key is in Vault; nothing pending"


def _retiring_words(old: RetiringView) -> str:
    name = old.key.short_key or old.key.id
    if old.phase is SecretPhase.HELD:
        return f"old key {name} is still used (last at {_at(old.last_used_at)}): kept until {_at(old.until)}"
    if old.phase is SecretPhase.GRACE:
        return f"old key {name} is deleted after its grace period, at {_at(old.until)}"
    return f"old key {name} is deleted by the next run"


def _at(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "unknown"


def _time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None

"""The per-secret state the rotator keeps in Vault: the managed key, the rotation in flight, the old keys
waiting to be deleted, the creates whose answers were lost, and the backoff.

Stored as a JSON-able dict; parsing is strict so that a damaged journal stops its secret rather than
guessing (invariant I6). The new key's secret is never in the journal: it goes to the target path only.

Schema 2 keeps old keys apart from the rotation in flight (``retiring``), so that waiting out one old key's
grace period never delays the next rotation. Schema 1 documents are read and migrated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from rotator.domain.keys import AccessScope
from rotator.domain.rotation import Phase, ReplacementSpec

SCHEMA = 2
HISTORY_LIMIT = 10


class JournalError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Rotation:
    """A replacement being made: from the journaled intent until it is in Vault."""

    id: str
    phase: Phase
    started_at: datetime
    old_key_id: str
    spec: ReplacementSpec
    target_version: int
    """The target path's version when the rotation began: the check-and-set for the write."""
    new_key_id: str | None = None
    new_short_key: str | None = None
    revoke_old: bool = False
    """A leak response: every older key is deleted as soon as the replacement is in Vault, without grace."""
    adopted_original: bool = False
    """The old key was never in Vault: its secret is only in the consumers' hands."""


@dataclass(frozen=True, slots=True)
class Retiring:
    """A key replaced in Vault that waits out its grace period (or its consumers) before it is deleted."""

    key_id: str
    replaced_by: str
    promoted_at: datetime
    rotation_id: str
    adopted_original: bool = False
    revoke: bool = False
    hold_reported: bool = False
    """Whether "old key still in use" was already logged, so it is said once per key."""
    unlisted_runs: int = 0
    """Runs whose listing left this key out: lists can be stale, so one absence proves nothing."""


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A create whose answer was lost: the key it may have made, recognised by description and expiry.

    Searched for on every run until ``expires_at`` (after which such a key no longer authenticates)."""

    description: str
    expires_at: datetime
    intent_at: datetime


@dataclass(frozen=True, slots=True)
class SecretState:
    current_key_id: str | None = None
    rotation: Rotation | None = None
    retiring: tuple[Retiring, ...] = ()
    unresolved: tuple[Fingerprint, ...] = ()
    failures: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    history: tuple[str, ...] = field(default=())
    """Ids of keys this rotator replaced, newest last (bounded)."""

    def advance(self, **changes: Any) -> SecretState:
        return replace(self, **changes)

    def known_key_ids(self) -> set[str]:
        """Every key this journal names: none of them can be an orphan."""
        ids = {*self.history, *(old.key_id for old in self.retiring)}
        if self.current_key_id is not None:
            ids.add(self.current_key_id)
        if self.rotation is not None:
            ids.update(filter(None, (self.rotation.old_key_id, self.rotation.new_key_id)))
        return ids


def to_document(state: SecretState) -> dict[str, Any]:
    return {"schema": SCHEMA, **_jsonable(asdict(state))}


def from_document(document: dict[str, Any]) -> SecretState:
    try:
        schema = document.get("schema")
        if schema not in (1, SCHEMA):
            raise JournalError(f"unsupported journal schema {schema!r}")
        rotation = document.get("rotation")
        retiring = tuple(_retiring(raw) for raw in document.get("retiring", ()))
        if schema == 1 and rotation is not None and rotation.get("phase") == "promoted":
            retiring, rotation = (*retiring, _retiring_from_v1(rotation)), None
        return SecretState(
            current_key_id=_opt_str(document.get("current_key_id")),
            rotation=None if rotation is None else _rotation(rotation),
            retiring=retiring,
            unresolved=tuple(_fingerprint(raw) for raw in document.get("unresolved", ())),
            failures=int(document.get("failures", 0)),
            next_attempt_at=_opt_time(document.get("next_attempt_at")),
            last_error=_opt_str(document.get("last_error")),
            history=tuple(str(item) for item in document.get("history", ())),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise JournalError(f"journal is damaged: {error}") from None


def _rotation(raw: dict[str, Any]) -> Rotation:
    spec = raw["spec"]
    return Rotation(
        id=str(raw["id"]),
        phase=Phase(raw["phase"]),
        started_at=_time(raw["started_at"]),
        old_key_id=str(raw["old_key_id"]),
        target_version=int(raw["target_version"]),
        spec=ReplacementSpec(
            description=str(spec["description"]),
            access_scope=AccessScope(spec["access_scope"]),
            workspace_ids=None if spec["workspace_ids"] is None else tuple(spec["workspace_ids"]),
            workspace_names=tuple(spec["workspace_names"]),
            role_id=_opt_str(spec["role_id"]),
            org_role_id=_opt_str(spec["org_role_id"]),
            expires_at=_opt_time(spec["expires_at"]),
            unlisted=tuple(str(name) for name in spec.get("unlisted", ())),
        ),
        new_key_id=_opt_str(raw.get("new_key_id")),
        new_short_key=_opt_str(raw.get("new_short_key")),
        revoke_old=bool(raw.get("revoke_old", False)),
        adopted_original=bool(raw.get("adopted_original", False)),
    )


def _retiring(raw: dict[str, Any]) -> Retiring:
    return Retiring(
        key_id=str(raw["key_id"]),
        replaced_by=str(raw["replaced_by"]),
        promoted_at=_time(raw["promoted_at"]),
        rotation_id=str(raw["rotation_id"]),
        adopted_original=bool(raw.get("adopted_original", False)),
        revoke=bool(raw.get("revoke", False)),
        hold_reported=bool(raw.get("hold_reported", False)),
        unlisted_runs=int(raw.get("unlisted_runs", 0)),
    )


def _retiring_from_v1(rotation: dict[str, Any]) -> Retiring:
    """Schema 1 kept a promoted rotation in place until its old key was deleted."""
    return Retiring(
        key_id=str(rotation["old_key_id"]),
        replaced_by=str(rotation["new_key_id"]),
        promoted_at=_time(rotation["promoted_at"]),
        rotation_id=str(rotation["id"]),
        hold_reported=bool(rotation.get("hold_reported", False)),
    )


def _fingerprint(raw: dict[str, Any]) -> Fingerprint:
    return Fingerprint(str(raw["description"]), _time(raw["expires_at"]), _time(raw["intent_at"]))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def _time(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no timezone")
    return moment


def _opt_time(value: Any) -> datetime | None:
    return None if value is None else _time(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)

"""The per-secret state the rotator keeps in Vault: the adopted key, the rotation in flight, the backoff.

Stored as a JSON-able dict; parsing is strict so that a damaged journal stops its secret rather than
guessing (invariant I6). The new key's secret is never in the journal: it goes to the target path only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from rotator.domain.keys import AccessScope
from rotator.domain.rotation import Phase, ReplacementSpec

SCHEMA = 1


class JournalError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Rotation:
    id: str
    phase: Phase
    started_at: datetime
    old_key_id: str
    spec: ReplacementSpec
    target_version: int
    """The target path's version when the rotation began: the check-and-set for the write."""
    new_key_id: str | None = None
    new_short_key: str | None = None
    stored_version: int | None = None
    promoted_at: datetime | None = None
    hold_reported: bool = False
    """Whether "old key still in use" was already logged, so it is said once per rotation."""


@dataclass(frozen=True, slots=True)
class SecretState:
    current_key_id: str | None = None
    rotation: Rotation | None = None
    failures: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    history: tuple[str, ...] = field(default=())
    """Ids of keys this rotator replaced, newest last (bounded)."""

    def advance(self, **changes: Any) -> SecretState:
        return replace(self, **changes)


HISTORY_LIMIT = 10


def to_document(state: SecretState) -> dict[str, Any]:
    return {"schema": SCHEMA, **_jsonable(asdict(state))}


def from_document(document: dict[str, Any]) -> SecretState:
    try:
        if document.get("schema") != SCHEMA:
            raise JournalError(f"unsupported journal schema {document.get('schema')!r}")
        rotation = document.get("rotation")
        return SecretState(
            current_key_id=_opt_str(document.get("current_key_id")),
            rotation=None if rotation is None else _rotation(rotation),
            failures=int(document.get("failures", 0)),
            next_attempt_at=_opt_time(document.get("next_attempt_at")),
            last_error=_opt_str(document.get("last_error")),
            history=tuple(str(item) for item in document.get("history", ())),
        )
    except (KeyError, TypeError, ValueError) as error:
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
        ),
        new_key_id=_opt_str(raw.get("new_key_id")),
        new_short_key=_opt_str(raw.get("new_short_key")),
        stored_version=None if raw.get("stored_version") is None else int(raw["stored_version"]),
        promoted_at=_opt_time(raw.get("promoted_at")),
        hold_reported=bool(raw.get("hold_reported", False)),
    )


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

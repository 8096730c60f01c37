"""Rotation decisions, pure: what the replacement key looks like, when to rotate, which keys are orphans,
when the old key may go, and how long to back off. The saga in ``rotator.rotation`` carries them out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rotator.domain.keys import AccessScope, ApiKey, KeyKind, Workspace

BACKOFF_FIRST = timedelta(hours=1)
BACKOFF_CAP = timedelta(hours=32)
# How much later than promotion a use of the old key may be recorded and still be the apps' last use
# before they switched: LangSmith records last_used_at asynchronously.
LAST_USE_SLACK = timedelta(minutes=5)
# A created key's expires_at is chosen by us, to the second: with the description it fingerprints a key that
# a crash left behind before its id reached the journal.
FINGERPRINT_TOLERANCE = timedelta(seconds=1)
CREATED_BEFORE_INTENT_TOLERANCE = timedelta(minutes=5)


class PlanError(ValueError):
    """The replacement cannot be planned safely; the message says why, naming keys by description."""


class AdoptionError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class AdoptBy:
    key_id: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ReplacementSpec:
    """Everything LangSmith needs to create the replacement, and everything verification checks."""

    description: str
    access_scope: AccessScope
    workspace_ids: tuple[str, ...] | None
    workspace_names: tuple[str, ...]
    role_id: str | None
    org_role_id: str | None
    expires_at: datetime | None


class Phase(StrEnum):
    """Journal phases, each written to Vault before the step that follows it."""

    INTENT = "intent"  # about to call create: a crash from here on may leave a key whose id we never saw
    CREATED = "created"  # the new key's id is known; it is verified and then written to Vault
    PROMOTED = "promoted"  # in Vault, read back; the old key waits out its grace period, then is deleted


def find_adoptable(keys: Sequence[ApiKey], adopt: AdoptBy) -> ApiKey:
    """The one service key ``adopt`` names; none or several is an error, never a guess."""
    services = [key for key in keys if key.kind is KeyKind.SERVICE_KEY]
    if adopt.key_id is not None:
        matches = [key for key in services if key.id == adopt.key_id]
        if not matches:
            pats = [key for key in keys if key.id == adopt.key_id]
            if pats:
                raise AdoptionError(f"key {adopt.key_id} is a personal access token; only service keys are managed")
            raise AdoptionError(f"no service key with id {adopt.key_id} in the org")
        return matches[0]
    matches = [key for key in services if key.description == adopt.description]
    if len(matches) != 1:
        found = "no service key" if not matches else f"{len(matches)} service keys"
        raise AdoptionError(
            f"{found} with description {adopt.description!r}; adopt by key_id instead"
            + (f" (candidates: {', '.join(key.id for key in matches)})" if matches else "")
        )
    return matches[0]


def plan_replacement(
    current: ApiKey,
    workspaces: Sequence[Workspace],
    *,
    lifetime: timedelta | None,
    max_expiry_days: int | None,
    now: datetime,
) -> ReplacementSpec:
    """Same description, scope, workspaces and roles as ``current``; a lifetime capped by the org.

    LangSmith lists a key's workspaces by name only, so names are mapped back to ids; a name that matches
    several live workspaces, or none, makes the replacement unsafe to plan.
    """
    if current.access_scope is AccessScope.ORGANIZATION or (
        current.access_scope is None and not current.workspace_names
    ):
        scope, workspace_ids = AccessScope.ORGANIZATION, None
    else:
        scope, workspace_ids = AccessScope.WORKSPACE, _workspace_ids(current.workspace_names, workspaces)
    return ReplacementSpec(
        description=current.description,
        access_scope=scope,
        workspace_ids=workspace_ids,
        workspace_names=current.workspace_names if workspace_ids else (),
        role_id=current.role_id,
        org_role_id=current.org_role_id,
        expires_at=_new_expiry(current, lifetime, max_expiry_days, now),
    )


def _workspace_ids(names: Sequence[str], workspaces: Sequence[Workspace]) -> tuple[str, ...]:
    if not names:
        raise PlanError("a workspace-scoped key lists no workspace names; cannot recreate its scope")
    live = [ws for ws in workspaces if not ws.is_deleted]
    ids = []
    for name in names:
        matches = [ws.id for ws in live if ws.display_name == name]
        if len(matches) != 1:
            problem = "no workspace" if not matches else f"{len(matches)} workspaces"
            raise PlanError(
                f"{problem} named {name!r} in the org; LangSmith lists a key's workspaces by name only, "
                "so the replacement's scope would be a guess (rename the duplicates)"
            )
        ids.append(matches[0])
    return tuple(ids)


def _new_expiry(
    current: ApiKey, lifetime: timedelta | None, max_expiry_days: int | None, now: datetime
) -> datetime | None:
    if lifetime is None and current.expires_at is not None and current.created_at is not None:
        lifetime = current.expires_at - current.created_at
    if max_expiry_days is not None:
        cap = timedelta(days=max_expiry_days) - timedelta(minutes=1)  # a hair under, for clock skew
        lifetime = cap if lifetime is None else min(lifetime, cap)
    if lifetime is None:
        return None
    return (now + lifetime).replace(microsecond=0)


def find_orphans(
    keys: Sequence[ApiKey],
    *,
    description: str,
    planned_expires_at: datetime | None,
    intent_at: datetime,
    known_ids: Sequence[str],
) -> list[ApiKey]:
    """Keys a crash may have created between the journaled intent and the journaled id.

    A match needs the planned description and expires_at (our fingerprint, to the second) and a creation
    time no earlier than the intent. Without an expiry to fingerprint, nothing is ever called an orphan.
    """
    if planned_expires_at is None:
        return []
    return [
        key
        for key in keys
        if key.kind is KeyKind.SERVICE_KEY
        and key.id not in known_ids
        and key.description == description
        and key.expires_at is not None
        and abs(key.expires_at - planned_expires_at) <= FINGERPRINT_TOLERANCE
        and (key.created_at is None or key.created_at >= intent_at - CREATED_BEFORE_INTENT_TOLERANCE)
    ]


def unfingerprinted_suspects(
    keys: Sequence[ApiKey], *, description: str, intent_at: datetime, known_ids: Sequence[str]
) -> list[ApiKey]:
    """Never-expiring service keys with the planned description, made since the intent.

    A replacement planned never to expire has no fingerprint: a create whose answer was lost may have made one
    of these, or a person may have. They are reported, never deleted (I6), and no further key is created
    while one is left (else every lost answer would leave another never-expiring orphan).
    """
    return [
        key
        for key in keys
        if key.kind is KeyKind.SERVICE_KEY
        and key.id not in known_ids
        and key.description == description
        and key.expires_at is None
        and (key.created_at is None or key.created_at >= intent_at - CREATED_BEFORE_INTENT_TOLERANCE)
    ]


def mismatches(created: ApiKey, spec: ReplacementSpec) -> list[str]:
    """How the key LangSmith lists differs from the one planned; empty when it matches."""
    found = []
    if created.description != spec.description:
        found.append("description")
    if created.access_scope is not None and created.access_scope is not spec.access_scope:
        found.append(f"access_scope {created.access_scope} != {spec.access_scope}")
    if spec.access_scope is AccessScope.WORKSPACE and set(created.workspace_names) != set(spec.workspace_names):
        found.append(f"workspaces {sorted(created.workspace_names)} != {sorted(spec.workspace_names)}")
    if spec.role_id is not None and created.role_id != spec.role_id:
        found.append("role_id")
    if spec.org_role_id is not None and created.org_role_id != spec.org_role_id:
        found.append("org_role_id")
    if spec.expires_at is not None and (
        created.expires_at is None or abs(created.expires_at - spec.expires_at) > FINGERPRINT_TOLERANCE
    ):
        found.append("expires_at")
    return found


@dataclass(frozen=True, slots=True)
class DeleteOld:
    pass


@dataclass(frozen=True, slots=True)
class WaitForGrace:
    until: datetime


@dataclass(frozen=True, slots=True)
class HoldStillInUse:
    """The old key was used after promotion: some consumer has not switched yet."""

    last_used_at: datetime
    until: datetime


DeletionDecision = DeleteOld | WaitForGrace | HoldStillInUse


def deletion_decision(
    old_key: ApiKey, *, promoted_at: datetime, grace_period: timedelta, max_grace: timedelta, now: datetime
) -> DeletionDecision:
    """Delete after the grace period, unless the old key is still being used, but never later than max_grace."""
    if now < promoted_at + grace_period:
        return WaitForGrace(promoted_at + grace_period)
    used_after_switch = old_key.last_used_at is not None and old_key.last_used_at > promoted_at + LAST_USE_SLACK
    hard_deadline = promoted_at + max(max_grace, grace_period)
    if used_after_switch and now < hard_deadline:
        assert old_key.last_used_at is not None
        return HoldStillInUse(old_key.last_used_at, hard_deadline)
    return DeleteOld()


def backoff_after(failures: int) -> timedelta:
    """1h after the first failure, doubling, at most 32h (as cert-manager backs off issuance)."""
    if failures <= 0:
        return timedelta(0)
    doublings: int = 2 ** min(failures - 1, 16)
    return min(BACKOFF_CAP, BACKOFF_FIRST * doublings)

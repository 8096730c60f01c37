"""Rotation decisions, pure: what the replacement key looks like, when to rotate, which keys are orphans,
when the old key may go, and how long to back off. The saga in ``rotator.rotation`` carries them out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from rotator.domain.keys import AccessScope, ApiKey, KeyKind, OrgInfo, Role, Workspace, is_secret_of
from rotator.domain.timing import MAX_LIFETIME

BACKOFF_FIRST = timedelta(hours=1)
BACKOFF_CAP = timedelta(hours=32)
# How much later than promotion a use of the old key may be recorded and still be the apps' last use
# before they switched: LangSmith records last_used_at asynchronously.
LAST_USE_SLACK = timedelta(minutes=5)
# A created key's expires_at is chosen by us, to the second: with the description it fingerprints a key that
# a crash left behind before its id reached the journal.
FINGERPRINT_TOLERANCE = timedelta(seconds=1)
CREATED_BEFORE_INTENT_TOLERANCE = timedelta(minutes=5)
_MINUTE = timedelta(minutes=1)
# An adopted original still in use is kept until LangSmith shows it unused for this long (or the grace period).
ADOPTED_QUIET_PERIOD = timedelta(hours=1)


class PlanError(ValueError):
    """The replacement cannot be planned safely; the message says why, naming keys by description."""


class AdoptionError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class AdoptBy:
    """The config's ``adopt`` (a key id or an exact description), or, without it, what the target holds: its
    ``key_id``, else the secret, whose first characters are a listed key's ``short_key``."""

    key_id: str | None = None
    description: str | None = None
    secret: str | None = field(default=None, repr=False)


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
    unlisted: tuple[str, ...] = ()
    """Fields this LangSmith does not list (taken from the config's pins instead): verification cannot see
    them on the new key either, so they are the only ones it may leave unchecked."""


@dataclass(frozen=True, slots=True)
class Pins:
    """What the config says a managed key is, for the fields an older LangSmith leaves out of its listing.

    A pin only fills a field LangSmith did not answer; where LangSmith does answer, the two must agree.
    Roles are given here as ids (the saga resolves display names through the org's roles first).
    """

    scope: AccessScope | None = None
    workspace_names: tuple[str, ...] | None = None
    role_id: str | None = None
    org_role_id: str | None = None
    lifetime: timedelta | None = None


class Phase(StrEnum):
    """Journal phases of a rotation in flight, each written to Vault before the step that follows it. Once
    the replacement is in Vault the rotation is over; its old key becomes a ``Retiring`` entry."""

    INTENT = "intent"  # about to call create: a crash from here on may leave a key whose id we never saw
    CREATED = "created"  # the new key's id is known; it is verified and then written to Vault


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
    if adopt.description is not None:
        matches = [key for key in services if key.description == adopt.description]
        if len(matches) != 1:
            found = "no service key" if not matches else f"{len(matches)} service keys"
            raise AdoptionError(
                f"{found} with description {adopt.description!r}; adopt by key_id instead"
                + (f" (candidates: {', '.join(key.id for key in matches)})" if matches else "")
            )
        return matches[0]
    secret = adopt.secret or ""
    matches = [key for key in services if is_secret_of(secret, key)]
    if len(matches) != 1:
        found = "no service key" if not matches else f"{len(matches)} service keys"
        raise AdoptionError(f"{found} of the org match the key the target holds; give managed[].adopt")
    return matches[0]


def plan_replacement(
    current: ApiKey,
    workspaces: Sequence[Workspace],
    *,
    pins: Pins = Pins(),
    max_expiry_days: int | None,
    now: datetime,
) -> ReplacementSpec:
    """Same description, scope, workspaces and roles as ``current``; a lifetime capped by the org.

    A field LangSmith did not list is never given a default: it comes from ``pins`` or the plan is refused,
    since LangSmith's own defaults (Admin, Organization User, org-wide, never expiring) would widen the key.
    LangSmith lists a key's workspaces by name only, so names are mapped back to ids; a name that matches
    several live workspaces, or none, makes the replacement unsafe to plan.
    """
    scope = _scope(current, pins)
    names = _workspace_names(current, pins) if scope is AccessScope.WORKSPACE else ()
    role_id = _pinned(current, "role_id", current.role_id, pins.role_id, needed=scope is AccessScope.WORKSPACE)
    org_role_id = (
        _pinned(current, "org_role_id", current.org_role_id, pins.org_role_id, needed=True)
        if scope is AccessScope.ORGANIZATION
        else None
    )
    unlisted = tuple(
        field
        for field in ("access_scope", "workspace_names", "role_id", "org_role_id", "expires_at")
        if field in current.unread
    )
    return ReplacementSpec(
        description=current.description,
        access_scope=scope,
        workspace_ids=workspace_ids_for(names, workspaces) if scope is AccessScope.WORKSPACE else None,
        workspace_names=names,
        role_id=role_id,
        org_role_id=org_role_id,
        expires_at=_new_expiry(current, pins.lifetime, max_expiry_days, now),
        unlisted=unlisted,
    )


_PIN_FOR = {
    "access_scope": "scope",
    "workspace_names": "scope",
    "role_id": "role",
    "org_role_id": "org_role",
    "expires_at": "lifetime",
    "created_at": "lifetime",
}


def _unknown(field: str) -> PlanError:
    return PlanError(
        f"LangSmith did not list the key's {field} (an older or self-hosted LangSmith?), and a replacement "
        f"without it would get LangSmith's default; set managed[].{_PIN_FOR[field]} to say what it is"
    )


def _scope(current: ApiKey, pins: Pins) -> AccessScope:
    if "access_scope" not in current.unread and current.access_scope is not None:
        if pins.scope is not None and pins.scope is not current.access_scope:
            raise PlanError(f"LangSmith lists the key as {current.access_scope}-scoped, the config says {pins.scope}")
        return current.access_scope
    if pins.scope is None:
        raise _unknown("access_scope")
    return pins.scope


def _workspace_names(current: ApiKey, pins: Pins) -> tuple[str, ...]:
    listed = current.workspace_names if "workspace_names" not in current.unread else ()
    if listed and pins.workspace_names is not None and set(listed) != set(pins.workspace_names):
        raise PlanError(
            f"LangSmith lists the key's workspaces as {sorted(listed)}, the config says {sorted(pins.workspace_names)}"
        )
    names = listed or pins.workspace_names
    if not names:
        if "workspace_names" in current.unread:
            raise _unknown("workspace_names")
        raise PlanError("a workspace-scoped key lists no workspace names; cannot recreate its scope")
    return tuple(names)


def _pinned(current: ApiKey, field: str, listed: str | None, pin: str | None, *, needed: bool) -> str | None:
    """The listed value when LangSmith gave one, else the pin; a needed value that neither gives is refused."""
    known = field not in current.unread
    if known and listed is not None:
        if pin is not None and pin != listed:
            raise PlanError(f"LangSmith lists the key's {field} as {listed}, the config pins {pin}")
        return listed
    if pin is not None:
        return pin
    if not known or needed:
        raise _unknown(field)
    return None


def resolve_role(pin: str | None, roles: Sequence[Role], scope: AccessScope, field: str) -> str | None:
    """The id of the role a config pin names, by id or display name, among the org's roles of ``scope``."""
    if pin is None:
        return None
    matches = [role.id for role in roles if pin in (role.id, role.display_name) and role.access_scope in (scope, None)]
    if len(set(matches)) != 1:
        problem = "no" if not matches else f"{len(set(matches))}"
        raise PlanError(f"managed[].{field} {pin!r}: {problem} {scope} role(s) of the org with that id or name")
    return matches[0]


def workspace_ids_for(names: Sequence[str], workspaces: Sequence[Workspace]) -> tuple[str, ...]:
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
    if lifetime is None:
        if "expires_at" in current.unread:
            raise _unknown("expires_at")
        if current.expires_at is not None:
            if current.created_at is None:
                raise _unknown("created_at")
            lifetime = own_lifetime(current)
            if lifetime is None or not timedelta(0) < lifetime <= MAX_LIFETIME:
                raise PlanError(
                    f"the key's listed lifetime ({current.created_at:%Y-%m-%d} to {current.expires_at:%Y-%m-%d}) "
                    "cannot be copied; set managed[].lifetime"
                )
    if max_expiry_days is not None:
        if max_expiry_days < 1:
            raise PlanError(f"the org allows keys to live {max_expiry_days} days; no key can be made")
        cap = timedelta(days=max_expiry_days) - timedelta(minutes=1)  # a hair under, for clock skew
        lifetime = cap if lifetime is None else min(lifetime, cap)
    if lifetime is None:
        return None
    return (now + lifetime).replace(microsecond=0)


def own_lifetime(key: ApiKey) -> timedelta | None:
    """How long ``key`` was made to live, to the minute: its expiry is whole seconds, its creation time is not,
    so the exact difference would shrink a little with every copy."""
    if key.expires_at is None or key.created_at is None:
        return None
    return round((key.expires_at - key.created_at) / _MINUTE) * _MINUTE


def expiry_cap_days(info: OrgInfo) -> int | None:
    """The org's limit on a service key's lifetime: which maximum binds is undocumented, so the smaller."""
    limits = [days for days in (info.max_service_key_expiry_days, info.max_api_key_expiry_days) if days is not None]
    smallest = min(limits, default=None)
    return None if smallest is None or smallest > MAX_LIFETIME.days else smallest


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
    """How the key LangSmith lists differs from the one planned; empty when it matches.

    Every planned field is checked, "never expires" and "no role" included. A field LangSmith does not list
    is a difference too, unless it did not list it for the old key either (``spec.unlisted``).
    """
    found = []
    if created.description != spec.description:
        found.append("description")
    listed_scope = created.access_scope if "access_scope" not in created.unread else None
    if listed_scope is not spec.access_scope and not (listed_scope is None and "access_scope" in spec.unlisted):
        found.append(f"access_scope {listed_scope or 'unlisted'} != {spec.access_scope}")
    names = set(created.workspace_names)
    if names != set(spec.workspace_names) and not (
        "workspace_names" in created.unread and "workspace_names" in spec.unlisted
    ):
        found.append(f"workspaces {sorted(names)} != {sorted(spec.workspace_names)}")
    for role, listed, planned in (
        ("role_id", created.role_id, spec.role_id),
        ("org_role_id", created.org_role_id, spec.org_role_id),
    ):
        if role in created.unread:
            if role not in spec.unlisted:
                found.append(f"{role} unlisted")
        elif listed != planned:
            found.append(role)
    if "expires_at" in created.unread:
        if "expires_at" not in spec.unlisted:
            found.append("expires_at unlisted")
    elif (created.expires_at is None) != (spec.expires_at is None) or (
        created.expires_at is not None
        and spec.expires_at is not None
        and abs(created.expires_at - spec.expires_at) > FINGERPRINT_TOLERANCE
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
    old_key: ApiKey,
    *,
    promoted_at: datetime,
    grace_period: timedelta,
    max_grace: timedelta,
    adopted_original: bool,
    now: datetime,
) -> DeletionDecision:
    """Delete after the grace period, unless the old key is still being used, but never later than max_grace.

    An adopted original (a key that was never in Vault) is the exception to max_grace: its secret is in the
    consumers' hands only, so it is deleted only once LangSmith shows it unused for a grace period (at least
    an hour), however long that takes.
    """
    if now < promoted_at + grace_period:
        return WaitForGrace(promoted_at + grace_period)
    last_used = old_key.last_used_at
    if last_used is None or last_used <= promoted_at + LAST_USE_SLACK:  # not used since the switch
        return DeleteOld()
    if adopted_original:
        quiet_until = last_used + max(grace_period, ADOPTED_QUIET_PERIOD)
        if now < quiet_until:
            return HoldStillInUse(last_used, quiet_until)
        return DeleteOld()
    hard_deadline = promoted_at + max(max_grace, grace_period)
    if now < hard_deadline:
        return HoldStillInUse(last_used, hard_deadline)
    return DeleteOld()


def deletion_due_at(decision: DeletionDecision, now: datetime) -> datetime:
    """When the old key goes: the end of its grace period or hold, or now."""
    return decision.until if isinstance(decision, WaitForGrace | HoldStillInUse) else now


def backoff_after(failures: int) -> timedelta:
    """1h after the first failure, doubling, at most 32h (as cert-manager backs off issuance)."""
    if failures <= 0:
        return timedelta(0)
    doublings: int = 2 ** min(failures - 1, 16)
    return min(BACKOFF_CAP, BACKOFF_FIRST * doublings)

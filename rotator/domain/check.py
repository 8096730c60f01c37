"""The `rotator check` verdict: every key assessed, sorted by urgency, and a monitoring-plugin exit code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rotator.domain.exit_codes import ExitCode
from rotator.domain.keys import ApiKey
from rotator.domain.policy import Assessment, ExpiryPolicy, ExpiryStatus, assess
from rotator.domain.rotation import DeletionDecision, deletion_decision, deletion_due_at


@dataclass(frozen=True, slots=True)
class OrgInventory:
    """What one poll of one configured org saw; ``error`` says why it could not be polled."""

    org: str
    keys: tuple[ApiKey, ...] = ()
    role_names: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class KeyRow:
    org: str
    key: ApiKey
    assessment: Assessment
    role: str | None
    managed: str | None = None
    """The managed secret this key is (or, retiring, was) the key of."""
    delete_after: datetime | None = None
    """A retiring key: when the rotator deletes it (the end of its grace period, or of a hold)."""


@dataclass(frozen=True, slots=True)
class RetiringMark:
    """A key a rotation replaced, as the journal of its managed secret tells."""

    managed: str
    promoted_at: datetime
    grace_period: timedelta
    max_grace: timedelta
    adopted_original: bool = False

    def decision(self, key: ApiKey, now: datetime) -> DeletionDecision:
        """What the rotator will do with the listed ``key`` now: wait, hold, or delete it."""
        return deletion_decision(
            key,
            promoted_at=self.promoted_at,
            grace_period=self.grace_period,
            max_grace=self.max_grace,
            adopted_original=self.adopted_original,
            now=now,
        )


@dataclass(frozen=True, slots=True)
class ManagedKeys:
    """Which listed keys the rotator manages, by (org, key id): current keys and the ones retiring."""

    current: Mapping[tuple[str, str], str] = field(default_factory=dict)
    retiring: Mapping[tuple[str, str], RetiringMark] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckReport:
    checked_at: datetime
    rows: tuple[KeyRow, ...]
    failed_orgs: tuple[OrgInventory, ...]

    @property
    def exit_code(self) -> ExitCode:
        if self.failed_orgs:
            return ExitCode.UNKNOWN
        statuses = {row.assessment.status for row in self.rows}
        if statuses & {ExpiryStatus.CRITICAL, ExpiryStatus.EXPIRED}:
            return ExitCode.CRITICAL
        if statuses & {ExpiryStatus.WARNING, ExpiryStatus.TOO_OLD}:
            return ExitCode.WARNING
        return ExitCode.OK


def build_check_report(
    inventories: Sequence[OrgInventory],
    policies: Mapping[str, ExpiryPolicy],
    now: datetime,
    managed: ManagedKeys | None = None,
) -> CheckReport:
    """Assess every key with its org's policy; most urgent first, then soonest expiry, then oldest. A key a
    rotation replaced is ``retiring``, with when it will be deleted, whatever its expiry."""
    managed = managed or ManagedKeys()
    rows = [
        _row(inv.org, key, policy=policies[inv.org], role_names=inv.role_names, managed=managed, now=now)
        for inv in inventories
        if inv.error is None
        for key in inv.keys
    ]
    rows.sort(key=_urgency_order)
    return CheckReport(now, tuple(rows), tuple(inv for inv in inventories if inv.error is not None))


def _row(
    org: str,
    key: ApiKey,
    *,
    policy: ExpiryPolicy,
    role_names: Mapping[str, str],
    managed: ManagedKeys,
    now: datetime,
) -> KeyRow:
    assessment, role = assess(key, policy, now), _role_of(key, role_names)
    mark = managed.retiring.get((org, key.id))
    if mark is None:
        return KeyRow(org, key, assessment, role, managed.current.get((org, key.id)))
    retiring = Assessment(ExpiryStatus.RETIRING, assessment.days_left, assessment.age_days)
    return KeyRow(org, key, retiring, role, mark.managed, deletion_due_at(mark.decision(key, now), now))


def _urgency_order(row: KeyRow) -> tuple[int, float, float, str, str]:
    days_left = row.assessment.days_left
    age = row.assessment.age_days or 0.0
    return (
        -row.assessment.status.urgency,
        days_left if days_left is not None else float("inf"),
        -age,
        row.org,
        row.key.description,
    )


def _role_of(key: ApiKey, role_names: Mapping[str, str]) -> str | None:
    role_id = key.org_role_id or key.role_id
    if role_id is None:
        return None
    return role_names.get(role_id, role_id)

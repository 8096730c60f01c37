"""The `rotator check` verdict: every key assessed, sorted by urgency, and a monitoring-plugin exit code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from rotator.domain.keys import ApiKey
from rotator.domain.policy import Assessment, ExpiryPolicy, ExpiryStatus, assess


class ExitCode(IntEnum):
    """Nagios / monitoring-plugin convention."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3
    UNDELIVERED = 4
    """`once` and `rotate`: the cycle ran, but an alert sink did not take every notification."""


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
    inventories: Sequence[OrgInventory], policies: Mapping[str, ExpiryPolicy], now: datetime
) -> CheckReport:
    """Assess every key with its org's policy; most urgent first, then soonest expiry, then oldest."""
    rows = [
        KeyRow(inv.org, key, assess(key, policies[inv.org], now), _role_of(key, inv.role_names))
        for inv in inventories
        if inv.error is None
        for key in inv.keys
    ]
    rows.sort(key=_urgency_order)
    return CheckReport(now, tuple(rows), tuple(inv for inv in inventories if inv.error is not None))


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

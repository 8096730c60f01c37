"""Expiry policy: how urgent a key is, and when a managed key is due for rotation. Pure: ``now`` is passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from rotator.domain.keys import ApiKey

_DAY = timedelta(days=1)
# Lead time used when a key's lifetime is unknown (no created_at) and no rotate_before is configured.
UNKNOWN_LIFETIME_LEAD = timedelta(days=7)


class ExpiryStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    EXPIRED = "expired"
    NO_EXPIRY = "no_expiry"
    TOO_OLD = "too_old"
    RETIRING = "retiring"
    """Replaced in Vault by a rotation, waiting out its grace period: deleted by the rotator, not an alarm."""

    @property
    def urgency(self) -> int:
        """Higher is more urgent; the order in which `rotator check` lists keys."""
        return _URGENCY[self]


_URGENCY = {
    ExpiryStatus.EXPIRED: 5,
    ExpiryStatus.CRITICAL: 4,
    ExpiryStatus.WARNING: 3,
    ExpiryStatus.TOO_OLD: 2,
    ExpiryStatus.NO_EXPIRY: 1,
    ExpiryStatus.OK: 0,
    ExpiryStatus.RETIRING: -1,
}


@dataclass(frozen=True, slots=True)
class ExpiryPolicy:
    """Thresholds; ``critical_before`` must not exceed ``warn_before`` (settings enforce it)."""

    warn_before: timedelta = timedelta(days=21)
    critical_before: timedelta = timedelta(days=7)
    max_age: timedelta = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Assessment:
    status: ExpiryStatus
    days_left: float | None
    """Days until expiry (negative once expired); None for a key that never expires."""
    age_days: float | None
    """Days since creation; None when LangSmith did not say when the key was created."""


def assess(key: ApiKey, policy: ExpiryPolicy, now: datetime) -> Assessment:
    """Classify a key: boundaries are inclusive, so a key exactly ``warn_before`` from expiry warns."""
    age_days = (now - key.created_at) / _DAY if key.created_at else None
    if key.expires_at is None:
        too_old = key.created_at is not None and now - key.created_at >= policy.max_age
        return Assessment(ExpiryStatus.TOO_OLD if too_old else ExpiryStatus.NO_EXPIRY, None, age_days)
    remaining = key.expires_at - now
    if remaining <= timedelta(0):
        status = ExpiryStatus.EXPIRED
    elif remaining <= policy.critical_before:
        status = ExpiryStatus.CRITICAL
    elif remaining <= policy.warn_before:
        status = ExpiryStatus.WARNING
    else:
        status = ExpiryStatus.OK
    return Assessment(status, remaining / _DAY, age_days)


def rotation_due_at(key: ApiKey, *, rotate_before: timedelta | None, max_age: timedelta) -> datetime:
    """When a managed key should be replaced, as cert-manager computes renewal time.

    A key that expires is due ``rotate_before`` ahead of expiry when that is shorter than its lifetime,
    otherwise when two thirds of its lifetime have passed. A key that never expires is due at ``max_age``
    (at once if its age is unknown). The result is truncated to whole seconds.
    """
    if key.expires_at is None:
        due = key.created_at + max_age if key.created_at else datetime.min.replace(tzinfo=UTC)
        return due.replace(microsecond=0)
    lifetime = key.expires_at - key.created_at if key.created_at else None
    if rotate_before is not None and rotate_before > timedelta(0) and (lifetime is None or rotate_before < lifetime):
        lead = rotate_before
    elif lifetime is not None and lifetime > timedelta(0):
        lead = lifetime / 3
    else:
        lead = UNKNOWN_LIFETIME_LEAD
    return (key.expires_at - lead).replace(microsecond=0)

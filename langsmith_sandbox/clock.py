"""The sandbox's notion of "now": real UTC time by default, or a frozen instant that tests set and advance."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


def require_aware(value: datetime) -> datetime:
    """Return ``value`` in UTC; reject naive datetimes, whose meaning would depend on the host's zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()} has no timezone; write e.g. 2026-01-15T12:00:00+00:00")
    return value.astimezone(UTC)


class SandboxClock:
    """Frozen once ``set``; ``advance`` moves a frozen clock, or shifts a running one by an offset."""

    def __init__(self, now: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen_at = None if now is None else require_aware(now)
        self._offset = timedelta(0)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return datetime.now(UTC) + self._offset

    def set(self, now: datetime) -> None:
        with self._lock:
            self._frozen_at = require_aware(now)

    def advance(self, delta: timedelta | float) -> datetime:
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += step
            else:
                self._offset += step
        return self.now()

    def follow_real_time(self) -> None:
        with self._lock:
            self._frozen_at = None
            self._offset = timedelta(0)

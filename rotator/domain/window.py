"""The rotation window: when keys may be created and deleted. Pure; times are UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RotationWindow:
    weekdays: frozenset[int]
    """Monday is 0, as ``datetime.weekday()``."""
    start_minute: int
    end_minute: int
    """Minutes after midnight; the window is [start, end)."""

    def contains(self, now: datetime) -> bool:
        minute = now.hour * 60 + now.minute
        return now.weekday() in self.weekdays and self.start_minute <= minute < self.end_minute

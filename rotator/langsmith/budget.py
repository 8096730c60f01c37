"""The request budget of one admin key: LangSmith limits each key to so many requests a minute, so every client
that sends with it (inventory, rotations, their verification) draws from one budget and waits its turn rather
than being answered 429.

A token bucket in its "generic cell rate" form: each request reserves the next free slot, ``60 / per_minute``
seconds after the one before, and up to ``burst`` requests may go at once after a quiet spell. In any minute at
most ``per_minute + burst`` requests leave. Slots are handed out first come, first served, so no thread starves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RequestBudget:
    def __init__(
        self,
        per_minute: float,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self._interval = 60.0 / per_minute
        self.burst = max(1, int(per_minute // 60) if burst is None else burst)
        self._tolerance = (self.burst - 1) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock()  # when the next request is due, were the bucket never to fill
        self._held_until = float("-inf")

    def acquire(self) -> float:
        """Wait for this request's slot; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                due = max(self._next, now)
                start = max(now, due - self._tolerance)
                self._next = due + self._interval
            if start > now:
                self._sleep(start - now)
                waited += start - now
            # A 429 that came while this thread slept on a slot reserved before it moves every slot past it.
            if self._clock() >= self._held_until:
                return waited

    def hold_off(self, seconds: float) -> None:
        """LangSmith answered 429 with ``Retry-After: seconds``: no request on this key leaves before then."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)
            self._next = max(self._next, self._held_until + self._tolerance)

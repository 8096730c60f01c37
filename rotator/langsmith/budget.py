"""The request budget of one admin key: LangSmith limits each key to so many requests a minute, so every client
that sends with it (inventory, rotations, their verification) draws from one budget and waits its turn rather
than being answered 429.

A sliding window, as the server keeps one: at most ``limit`` requests leave in any ``window_seconds``. Each
request reserves the earliest moment that keeps that true (now, or one window after the ``limit``-th request
before it), so a burst up to the limit goes at once, the rest wait their turn in order, and no thread starves.
A window that holds no more than ``limit`` holds no more in any fixed window of the same length either.

The server counts a request when it arrives, not when it left: a burst arrives over a moment, and the next one,
a window later, could meet its tail there. So a turn freed by an earlier request comes a tenth of the window
after that request's own window ends (six seconds in a minute).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MINUTE = 60.0
ARRIVAL_MARGIN = 0.1
"""Of the window: how much later than one window after it the request ``limit`` turns back lets another go."""


class RequestBudget:
    def __init__(
        self,
        limit: int,
        *,
        window_seconds: float = MINUTE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit and window_seconds must be positive")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._starts: deque[float] = deque(maxlen=limit)  # the last ``limit`` reserved start times, in order
        self._held_until = float("-inf")

    def acquire(self) -> float:
        """Wait for this request's turn; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                start = max(now, self._held_until)
                if len(self._starts) == self.limit:
                    start = max(start, self._starts[0] + self.window_seconds * (1 + ARRIVAL_MARGIN))
                self._starts.append(start)
            if start > now:
                self._sleep(start - now)
                waited += start - now
            # A 429 that came while this thread slept on a turn reserved before it moves every turn past it.
            if self._clock() >= self._held_until:
                return waited

    def hold_off(self, seconds: float) -> None:
        """LangSmith answered 429 with ``Retry-After: seconds``: no request on this key leaves before then."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)

"""A per-API-key rate limit: at most so many requests in any sliding window (a minute by default) per X-API-Key.

LangSmith limits each key to so many requests a minute and answers the rest ``429 Too Many Requests`` with a
``Retry-After``. The sandbox plays that with a sliding-window log: each key keeps the times of the requests it
was allowed in the last window; a request that finds the window full is refused, and ``Retry-After`` says in
whole seconds (rounded up) when the oldest of them leaves the window, which is when a slot frees. Refused
requests take no slot, so a client that waits as told is let in.

Off unless configured (``requests_per_minute`` None). Keys are told apart by a SHA-256 of the header, so the
limiter, like the rest of the sandbox, never holds a secret. Requests without an X-API-Key are not limited
(they are refused as unauthenticated anyway). ``clock`` is a monotonic seam for tests.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class RateLimitSettings:
    """``requests_per_minute`` requests per key in any ``window_seconds``; the limit scales with the window, so
    a 10-second window admits a sixth of ``requests_per_minute`` (tests use short windows)."""

    requests_per_minute: int
    window_seconds: float = DEFAULT_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if isinstance(self.requests_per_minute, bool) or not isinstance(self.requests_per_minute, int):
            raise ValueError("requests_per_minute must be a whole number")
        if self.requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        if isinstance(self.window_seconds, bool) or not isinstance(self.window_seconds, int | float):
            raise ValueError("window_seconds must be a number")
        if not 0 < self.window_seconds <= 3600 or not math.isfinite(self.window_seconds):
            raise ValueError("window_seconds must be more than 0 and at most 3600")
        if self.limit < 1:
            raise ValueError("the window is too short to admit even one request at this rate")

    @property
    def limit(self) -> int:
        """Requests one key may send in any window."""
        return math.floor(self.requests_per_minute * self.window_seconds / 60.0 + 1e-9)

    def to_json(self) -> dict[str, object]:
        return {
            "requests_per_minute": self.requests_per_minute,
            "window_seconds": self.window_seconds,
            "limit": self.limit,
        }


@dataclass(frozen=True)
class Refusal:
    """A request the limit refused: when a slot frees, in seconds (exact, and rounded up for the header)."""

    wait_seconds: float
    settings: RateLimitSettings

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.wait_seconds - 1e-9))

    def body(self) -> dict[str, object]:
        settings = self.settings
        return {
            "detail": (
                f"Rate limit exceeded: {settings.limit} requests per {settings.window_seconds:g} seconds per API key;"
                f" retry in {self.retry_after} s"
            ),
            "retry_after_seconds": round(self.wait_seconds, 3),
            "limit": settings.limit,
            "window_seconds": settings.window_seconds,
        }


class RateLimiter:
    """Thread-safe. ``configure`` replaces the settings (None: off) and forgets every window and count."""

    def __init__(
        self, settings: RateLimitSettings | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._settings = settings
        self._windows: dict[str, deque[float]] = {}
        self._admitted = 0
        self._refused = 0

    @property
    def settings(self) -> RateLimitSettings | None:
        with self._lock:
            return self._settings

    def configure(self, settings: RateLimitSettings | None) -> None:
        with self._lock:
            self._settings = settings
            self._windows.clear()
            self._admitted = self._refused = 0

    def take(self, api_key: str | None) -> Refusal | None:
        """Count one request of ``api_key``: None when it may go on, else the refusal to answer with."""
        with self._lock:
            settings = self._settings
            if settings is None or not api_key:
                return None
            now = self._clock()
            window = self._windows.setdefault(_fingerprint(api_key), deque())
            horizon = now - settings.window_seconds
            while window and window[0] <= horizon:
                window.popleft()
            if len(window) >= settings.limit:
                self._refused += 1
                return Refusal(window[0] - horizon, settings)
            window.append(now)
            self._admitted += 1
            return None

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "enabled": self._settings is not None,
                **(self._settings.to_json() if self._settings is not None else {}),
                "admitted": self._admitted,
                "refused": self._refused,
            }


def _fingerprint(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()

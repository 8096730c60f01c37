"""Request counters per route and status, for tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter

DROPPED = "dropped"


class RequestStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_route: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()

    def record(self, route: str, status: int | None) -> None:
        """Count one request; ``status`` None means the connection was dropped without a response."""
        with self._lock:
            self._by_route[route] += 1
            self._by_status[DROPPED if status is None else str(status)] += 1

    def reset(self) -> None:
        """Forget every count, e.g. between the scenarios of a benchmark that share one server."""
        with self._lock:
            self._by_route.clear()
            self._by_status.clear()

    @property
    def total(self) -> int:
        with self._lock:
            return self._by_route.total()

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "total": self._by_route.total(),
                "by_route": dict(self._by_route),
                "by_status": dict(self._by_status),
            }

"""The fake clock of the suites that move time by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Generic, TypeVar, overload

Instant = TypeVar("Instant", float, datetime)


class FakeClock(Generic[Instant]):
    """A clock that only the test moves: ``clock()`` (or ``clock.now``) tells the time, ``advance`` moves it on,
    and so does ``sleep``, which also records each wait in ``sleeps`` (code handed ``sleep=clock.sleep`` never
    waits).

    Monotonic seconds by default (a float, from 1000.0); wall time when started at a datetime, moved in seconds.
    """

    now: Instant
    sleeps: list[float]

    @overload
    def __init__(self: FakeClock[float], start: float = ...) -> None: ...
    @overload
    def __init__(self: FakeClock[datetime], start: datetime) -> None: ...
    def __init__(self, start: float | datetime = 1000.0) -> None:
        self.now = start  # type: ignore[assignment]  # the overloads tie ``start``'s type to Instant
        self.sleeps = []

    def __call__(self) -> Instant:
        return self.now

    def advance(self, seconds: float) -> None:
        if isinstance(self.now, datetime):
            self.now += timedelta(seconds=seconds)
        else:
            self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

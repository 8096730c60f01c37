"""Bounded retries, shared by the HTTP adapters: a number of attempts within a total time budget.

Waits grow exponentially with full jitter (a random wait up to ``base_delay * 2**(attempt-1)``, capped at
``max_delay``). A ``Retry-After`` is a floor, not a cap: the wait is at least that long, and when that wait, or
any wait, would overrun the budget the loop gives up at once with the last error. The budget counts time spent
in attempts as well as in waits.

What each adapter decides for itself is passed to :func:`retrying`: which errors are retried, what an error says
about ``Retry-After``, how a retry is logged, the clock and sleep (seams for tests), and any deadline of its own
on top of the policy's budget (a sink's per-send time budget).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import tenacity

E = TypeVar("E", bound=BaseException)
Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most ``max_attempts`` attempts within ``max_total_seconds`` (``math.inf``: only the caller's deadline)."""

    max_attempts: int = 5
    max_total_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.max_total_seconds, self.base_delay, self.max_delay) < 0:
            raise ValueError("max_total_seconds, base_delay and max_delay must not be negative")


def retrying(
    policy: RetryPolicy,
    *,
    retry_on: type[E] | tuple[type[E], ...],
    retry_after: Callable[[E], float | None],
    on_retry: Callable[[E, int, float], None],
    sleep: Sleep,
    clock: Clock,
    retryable: Callable[[E], bool] = lambda _error: True,
    deadline: float | None = None,
    reserve: float = 0.0,
) -> tenacity.Retrying:
    """A fresh retry controller for one logical call; its budget starts now.

    Retried: errors of ``retry_on`` for which ``retryable`` holds; anything else is raised at once, and so is the
    last error when attempts or time run out. ``retry_after`` reads the server's ``Retry-After`` (seconds) off a
    retried error, ``on_retry(error, attempt, wait)`` is told of each retry before its wait. The loop stops when
    the next wait would leave less than ``reserve`` seconds before the earlier of the policy's budget and
    ``deadline`` (an instant on ``clock``).
    """
    until = clock() + policy.max_total_seconds
    if deadline is not None:
        until = min(until, deadline)
    backoff = tenacity.wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay)

    def failure(state: tenacity.RetryCallState) -> E:
        # Only retried errors reach ``wait`` and ``before_sleep``.
        error = state.outcome.exception() if state.outcome else None
        if not isinstance(error, retry_on):
            raise TypeError(f"retrying: asked for the wait after {error!r}, which is not an error it retries")
        return error

    def wait(state: tenacity.RetryCallState) -> float:
        return max(backoff(state), retry_after(failure(state)) or 0.0)

    def stop(state: tenacity.RetryCallState) -> bool:
        # tenacity computes the wait before asking whether to stop, so ``upcoming_sleep`` is the next wait.
        left = until - clock() - state.upcoming_sleep
        return state.attempt_number >= policy.max_attempts or left < reserve

    def before_sleep(state: tenacity.RetryCallState) -> None:
        on_retry(failure(state), state.attempt_number, state.upcoming_sleep)

    return tenacity.Retrying(
        stop=stop,
        wait=wait,
        retry=tenacity.retry_if_exception(lambda error: isinstance(error, retry_on) and retryable(error)),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait per ``Retry-After`` header (delay-seconds or HTTP-date); None if absent or garbled."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when.replace(tzinfo=when.tzinfo or UTC) - now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None

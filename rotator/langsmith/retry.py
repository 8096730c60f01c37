"""How the client retries: a bounded number of attempts within a total time budget.

Waits grow exponentially with full jitter (a random wait up to ``base_delay * 2**(attempt-1)``, capped at
``max_delay``). A ``Retry-After`` from the server is a floor, not a cap: the client waits at least that long,
and gives up at once, with the server's error, when that wait would overrun the budget. The budget counts
time spent in requests as well as in waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
import tenacity

from rotator.langsmith.errors import (
    LangSmithError,
    LangSmithRateLimitError,
    LangSmithServerError,
    LangSmithUnavailableError,
)

log = structlog.get_logger(__name__)

# A create's 5xx, and a transport failure after its request may have left, reach this as
# CreateOutcomeUnknownError instead (see client.py), so they are not retried.
RETRYABLE = (LangSmithRateLimitError, LangSmithServerError, LangSmithUnavailableError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    max_total_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.max_total_seconds, self.base_delay, self.max_delay) < 0:
            raise ValueError("max_total_seconds, base_delay and max_delay must not be negative")


DEFAULT_RETRY = RetryPolicy()


def retrying(policy: RetryPolicy, *, sleep: Callable[[float], None], clock: Callable[[], float]) -> tenacity.Retrying:
    """A fresh retry controller for one logical call; its budget starts now."""
    started = clock()
    backoff = tenacity.wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay)

    def wait(state: tenacity.RetryCallState) -> float:
        return max(backoff(state), _retry_after(state))

    def stop(state: tenacity.RetryCallState) -> bool:
        # tenacity computes the wait before asking whether to stop, so ``upcoming_sleep`` is the next wait.
        over_budget = clock() - started + state.upcoming_sleep > policy.max_total_seconds
        return state.attempt_number >= policy.max_attempts or over_budget

    return tenacity.Retrying(
        stop=stop,
        wait=wait,
        retry=tenacity.retry_if_exception_type(RETRYABLE),
        sleep=sleep,
        before_sleep=_log_retry,
        reraise=True,
    )


def _failure(state: tenacity.RetryCallState) -> LangSmithError:
    # Only RETRYABLE errors are retried, so only they reach ``wait`` and ``before_sleep``.
    error = state.outcome.exception() if state.outcome else None
    assert isinstance(error, LangSmithError)
    return error


def _retry_after(state: tenacity.RetryCallState) -> float:
    return _failure(state).retry_after or 0.0


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = _failure(state)
    log.info(
        "langsmith.retry",
        method=error.method,
        route=error.path,
        status=error.status,
        error=type(error).__name__,
        attempt=state.attempt_number,
        wait_s=round(state.upcoming_sleep, 3),
    )

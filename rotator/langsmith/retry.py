"""How the client retries: the shared loop (``rotator.retry``) with LangSmith's choices.

Retried: 429, 5xx and transport failures, each attempt's ``Retry-After`` a floor on the wait; the policy's
``max_total_seconds`` is the whole budget, counting time spent in requests as well as in waits.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
import tenacity

from rotator import retry
from rotator.langsmith.errors import (
    LangSmithError,
    LangSmithRateLimitError,
    LangSmithServerError,
    LangSmithUnavailableError,
)
from rotator.retry import RetryPolicy

log = structlog.get_logger(__name__)

# A create's 5xx, and a transport failure after its request may have left, reach this as
# CreateOutcomeUnknownError instead (see client.py), so they are not retried.
RETRYABLE = (LangSmithRateLimitError, LangSmithServerError, LangSmithUnavailableError)

DEFAULT_RETRY = RetryPolicy()


def retrying(
    policy: RetryPolicy, *, sleep: Callable[[float], None], clock: Callable[[], float], paced: bool = False
) -> tenacity.Retrying:
    """A fresh retry controller for one logical call; its budget starts now. ``paced``: the client's request
    budget waits out a 429's ``Retry-After`` before the next attempt, so the retry adds only its backoff."""

    def retry_after(error: LangSmithError) -> float | None:
        return None if paced and isinstance(error, LangSmithRateLimitError) else error.retry_after

    return retry.retrying(
        policy,
        retry_on=RETRYABLE,
        retry_after=retry_after,
        on_retry=_log_retry,
        sleep=sleep,
        clock=clock,
    )


def _log_retry(error: LangSmithError, attempt: int, wait: float) -> None:
    log.info(
        "langsmith.retry",
        method=error.method,
        route=error.path,
        status=error.status,
        error=type(error).__name__,
        attempt=attempt,
        wait_s=round(wait, 3),
    )

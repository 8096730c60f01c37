from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import pytest

from rotator.langsmith import (
    CreateOutcomeUnknownError,
    LangSmithAuthError,
    LangSmithError,
    LangSmithNotFoundError,
    LangSmithRateLimitError,
    LangSmithServerError,
    LangSmithUnavailableError,
    RetryPolicy,
)
from rotator.langsmith.retry import DEFAULT_RETRY, retrying
from tests.support.clocks import FakeClock

ROUTE = "/api/v1/orgs/current/service-keys"


def rate_limited(retry_after: float | None = None) -> LangSmithRateLimitError:
    return LangSmithRateLimitError("HTTP 429", method="GET", path=ROUTE, status=429, retry_after=retry_after)


def server_error() -> LangSmithServerError:
    return LangSmithServerError("HTTP 503", method="GET", path=ROUTE, status=503)


@dataclass
class Script:
    """Fails with ``failures`` in turn, then returns "ok"; each call takes ``call_seconds`` of fake time."""

    time: FakeClock[float]
    failures: list[LangSmithError]
    call_seconds: float = 0.0
    calls: int = 0

    def __call__(self) -> str:
        self.calls += 1
        self.time.now += self.call_seconds
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def run(script: Script, policy: RetryPolicy = DEFAULT_RETRY) -> str:
    return retrying(policy, sleep=script.time.sleep, clock=script.time)(script)


@pytest.fixture
def fake_time() -> FakeClock[float]:
    """A monotonic clock from 0 s that moves only when slept on or when a call is said to take time."""
    return FakeClock(0.0)


def test_waits_honour_retry_after_through_a_429_storm(fake_time: FakeClock[float]) -> None:
    script = Script(fake_time, [rate_limited(3), rate_limited(7), rate_limited(2)])

    assert run(script) == "ok"
    assert script.calls == 4
    # Retry-After beats the small jittered backoff (at most 0.5, 1, 2 s here), so the waits are exact.
    assert fake_time.sleeps == [3.0, 7.0, 2.0]


@pytest.mark.parametrize(
    ("jitter", "waits"), [("top", [0.5, 1.0, 2.0, 4.0, 4.0]), ("bottom", [0.0, 0.0, 0.0, 0.0, 0.0])]
)
def test_backoff_is_full_jitter_over_a_doubling_capped_window(
    jitter: str, waits: list[float], fake_time: FakeClock[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("random.uniform", lambda low, high: high if jitter == "top" else low)
    script = Script(fake_time, [server_error() for _ in range(5)])

    assert run(script, RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=4)) == "ok"
    assert fake_time.sleeps == waits


def test_gives_up_at_once_when_retry_after_exceeds_the_budget(fake_time: FakeClock[float]) -> None:
    script = Script(fake_time, [rate_limited(120)])

    with pytest.raises(LangSmithRateLimitError) as caught:
        run(script, RetryPolicy(max_total_seconds=60))

    assert caught.value.retry_after == 120
    assert (script.calls, fake_time.sleeps) == (1, [])


def test_the_budget_counts_time_spent_in_requests(fake_time: FakeClock[float]) -> None:
    script = Script(fake_time, [rate_limited(3) for _ in range(5)], call_seconds=6)

    with pytest.raises(LangSmithRateLimitError):
        run(script, RetryPolicy(max_total_seconds=10))

    # 6 s call + 3 s wait fits in 10 s; a second 6 s call leaves no room for another wait.
    assert (script.calls, fake_time.sleeps) == (2, [3.0])


def test_stops_after_max_attempts_with_the_last_typed_error(fake_time: FakeClock[float]) -> None:
    script = Script(fake_time, [server_error() for _ in range(10)])

    with pytest.raises(LangSmithServerError):
        run(script, RetryPolicy(max_attempts=3))

    assert script.calls == 3
    assert len(fake_time.sleeps) == 2


def test_unavailable_is_retried(fake_time: FakeClock[float]) -> None:
    script = Script(fake_time, [LangSmithUnavailableError("ConnectError", method="GET", path=ROUTE)])

    assert run(script) == "ok"
    assert script.calls == 2


@pytest.mark.parametrize(
    "error",
    [
        LangSmithNotFoundError("HTTP 404", method="DELETE", path=ROUTE, status=404),
        LangSmithAuthError("HTTP 401", method="GET", path=ROUTE, status=401),
        CreateOutcomeUnknownError("HTTP 500", method="POST", path=ROUTE, status=500),
    ],
)
def test_other_errors_are_not_retried(error: LangSmithError, fake_time: FakeClock[float]) -> None:
    script = Script(fake_time, [error])

    with pytest.raises(type(error)):
        run(script)

    assert (script.calls, fake_time.sleeps) == (1, [])


def test_each_retry_is_logged(fake_time: FakeClock[float], logs: list[MutableMapping[str, Any]]) -> None:
    run(Script(fake_time, [rate_limited(4)]))

    [event] = [e for e in logs if e["event"] == "langsmith.retry"]
    expected = {"method": "GET", "route": ROUTE, "status": 429, "attempt": 1, "wait_s": 4.0}
    assert expected.items() <= event.items()


@pytest.mark.parametrize(
    "options",
    [{"max_attempts": 0}, {"max_total_seconds": -1}, {"base_delay": -0.5}, {"max_delay": -1}],
)
def test_a_nonsensical_policy_is_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**options)

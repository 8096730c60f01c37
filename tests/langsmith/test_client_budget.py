"""The client and its admin key's request budget: every attempt draws from it, a 429's Retry-After holds back
every client of the key, and pacing is not counted against the retry budget."""

from __future__ import annotations

import httpx
import pytest

from rotator.langsmith import LangSmithClient, LangSmithRateLimitError, RetryPolicy
from rotator.langsmith.budget import RequestBudget
from tests.support.clocks import FakeClock

API_KEY = "lsv2_sk_" + "a1" * 16 + "_" + "b2" * 5
ENDPOINT = "https://api.smith.langchain.com"


class Server:
    """Answers 429 with Retry-After to the first ``refusals`` requests, then an empty list; records when."""

    def __init__(self, clock: FakeClock[float], refusals: int = 0, retry_after: str = "90") -> None:
        self.clock = clock
        self.refusals = refusals
        self.retry_after = retry_after
        self.seen: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(self.clock())
        if len(self.seen) <= self.refusals:
            return httpx.Response(429, json={"detail": "Too Many Requests"}, headers={"Retry-After": self.retry_after})
        return httpx.Response(200, json=[])


def client(server: Server, budget: RequestBudget | None, retry: RetryPolicy | None = None) -> LangSmithClient:
    return LangSmithClient(
        endpoint=ENDPOINT,
        api_key=API_KEY,
        transport=httpx.MockTransport(server),
        budget=budget,
        retry=retry or RetryPolicy(max_total_seconds=60),
        sleep=server.clock.sleep,
        clock=server.clock,
    )


@pytest.fixture
def clock() -> FakeClock[float]:
    return FakeClock(0.0)


def test_requests_keep_the_budget_s_pace(clock: FakeClock[float]) -> None:
    server = Server(clock)
    paced = client(server, RequestBudget(2, window_seconds=1, clock=clock, sleep=clock.sleep))
    for _ in range(5):
        paced.list_roles()
    assert server.seen == [0.0, 0.0, pytest.approx(1.1), pytest.approx(1.1), pytest.approx(2.2)]


def test_a_retry_after_beyond_the_retry_budget_is_waited_out_when_paced(clock: FakeClock[float]) -> None:
    server = Server(clock, refusals=1, retry_after="90")
    paced = client(server, RequestBudget(1800, clock=clock, sleep=clock.sleep))
    assert paced.list_roles() == []
    assert server.seen[1] >= 90


def test_unpaced_the_same_answer_is_given_up_at_once(clock: FakeClock[float]) -> None:
    server = Server(clock, refusals=1, retry_after="90")
    with pytest.raises(LangSmithRateLimitError):
        client(server, None).list_roles()
    assert len(server.seen) == 1


def test_a_429_holds_back_every_client_of_the_key(clock: FakeClock[float]) -> None:
    budget = RequestBudget(1800, clock=clock, sleep=clock.sleep)
    refused = Server(clock, refusals=1, retry_after="30")
    other = Server(clock)
    with pytest.raises(LangSmithRateLimitError):
        client(refused, budget, RetryPolicy(max_attempts=1)).list_roles()
    client(other, budget).list_roles()
    assert other.seen[0] >= 30


def test_waiting_for_the_budget_does_not_use_up_the_retry_time(clock: FakeClock[float]) -> None:
    server = Server(clock, refusals=0)
    budget = RequestBudget(1, clock=clock, sleep=clock.sleep)  # one request a minute
    retry = RetryPolicy(max_total_seconds=5)
    first, second = client(server, budget, retry), client(server, budget, retry)
    first.list_roles()
    server.refusals = 2  # the next request waits 60 s for its slot, then is refused once
    server.retry_after = "1"
    assert second.list_roles() == []
    assert server.seen[1] == pytest.approx(66)

"""One admin key's request budget: at most so many requests in any window, bursts up to the limit at once, and a
429's Retry-After for every client of the key."""

from __future__ import annotations

import threading

import pytest

from rotator.langsmith.budget import RequestBudget
from tests.support.clocks import FakeClock


def budget(limit: int, window: float = 60.0) -> tuple[RequestBudget, FakeClock[float]]:
    clock = FakeClock()
    return RequestBudget(limit, window_seconds=window, clock=clock, sleep=clock.sleep), clock


def test_a_burst_up_to_the_limit_goes_at_once_and_the_rest_wait_a_window() -> None:
    paced, clock = budget(3, window=10)
    waits = [paced.acquire() for _ in range(7)]
    assert waits == [0.0, 0.0, 0.0, pytest.approx(11), 0.0, 0.0, pytest.approx(11)]  # a window and its margin
    assert clock() == pytest.approx(1022.0)


def test_no_window_ever_holds_more_than_the_limit() -> None:
    paced, clock = budget(5, window=60)
    sent = []
    while clock() < 1000.0 + 300:
        paced.acquire()
        sent.append(clock())
        clock.advance(7)  # a steady sender, faster than the budget
    for first in range(len(sent)):
        assert len([moment for moment in sent[first:] if moment < sent[first] + 60]) <= 5


def test_a_quiet_spell_frees_the_whole_window() -> None:
    paced, clock = budget(2, window=60)
    for _ in range(4):
        paced.acquire()
    clock.advance(3600)
    assert [paced.acquire() for _ in range(3)] == [0.0, 0.0, pytest.approx(66)]


def test_a_retry_after_holds_every_request_on_the_key() -> None:
    paced, _ = budget(1000)
    paced.hold_off(30)
    assert paced.acquire() == pytest.approx(30)
    assert paced.acquire() == 0.0


def test_a_turn_reserved_before_a_retry_after_waits_past_it() -> None:
    clock = FakeClock()
    reserved = threading.Event()
    paced: RequestBudget

    def sleep(seconds: float) -> None:
        if not reserved.is_set():  # the 429 arrives while this thread sleeps towards its turn
            reserved.set()
            paced.hold_off(30)
        clock.advance(seconds)

    paced = RequestBudget(1, window_seconds=1, clock=clock, sleep=sleep)
    paced.acquire()
    waited = paced.acquire()  # turn at +1 s, but a Retry-After of 30 s came in meanwhile
    assert reserved.is_set()
    assert waited >= 30


def test_threads_share_one_budget_in_order() -> None:
    paced, clock = budget(1, window=1)
    lock = threading.Lock()
    starts: list[float] = []

    def send() -> None:
        with lock:  # FakeClock is not thread-safe; the budget's own lock is what is under test
            paced.acquire()
            starts.append(clock())

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(starts) == [pytest.approx(1000.0 + 1.1 * n) for n in range(5)]


def test_a_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RequestBudget(0)

"""One admin key's request budget: the pace it keeps, the burst it allows, and a 429's Retry-After for all."""

from __future__ import annotations

import threading

import pytest

from rotator.langsmith.budget import RequestBudget
from tests.support.clocks import FakeClock


def budget(per_minute: float, burst: int | None = None) -> tuple[RequestBudget, FakeClock[float]]:
    clock = FakeClock()
    return RequestBudget(per_minute, burst=burst, clock=clock, sleep=clock.sleep), clock


def test_a_burst_goes_at_once_then_requests_keep_the_pace() -> None:
    paced, clock = budget(600, burst=3)  # one every 0.1 s
    started = clock()
    waits = [paced.acquire() for _ in range(8)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert all(wait == pytest.approx(0.1) for wait in waits[3:])
    assert clock() - started == pytest.approx(0.5)


def test_no_minute_holds_more_than_the_rate_and_the_burst() -> None:
    paced, clock = budget(120)  # burst defaults to one second's worth: 2
    assert paced.burst == 2
    sent = []
    while clock() < 1000.0 + 180:
        paced.acquire()
        sent.append(clock())
    for first in range(len(sent)):
        in_a_minute = [moment for moment in sent[first:] if moment < sent[first] + 60]
        assert len(in_a_minute) <= 120 + 2


def test_a_quiet_spell_refills_the_bucket_but_never_beyond_the_burst() -> None:
    paced, clock = budget(60, burst=2)
    for _ in range(4):
        paced.acquire()
    clock.advance(3600)
    assert [paced.acquire() for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_a_retry_after_holds_every_request_on_the_key() -> None:
    paced, _ = budget(6000, burst=10)
    paced.hold_off(30)
    assert paced.acquire() == pytest.approx(30)
    assert paced.acquire() == pytest.approx(0.01)


def test_a_slot_reserved_before_a_retry_after_waits_past_it() -> None:
    clock = FakeClock()
    reserved = threading.Event()
    paced: RequestBudget

    def sleep(seconds: float) -> None:
        if not reserved.is_set():  # the 429 arrives while this thread sleeps towards its slot
            reserved.set()
            paced.hold_off(30)
        clock.advance(seconds)

    paced = RequestBudget(60, burst=1, clock=clock, sleep=sleep)
    paced.acquire()
    waited = paced.acquire()  # slot at +1 s, but a Retry-After of 30 s came in meanwhile
    assert reserved.is_set()
    assert waited >= 30


def test_threads_share_one_budget() -> None:
    paced, clock = budget(60, burst=1)
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
    assert sorted(starts) == [pytest.approx(1000.0 + n) for n in range(5)]


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RequestBudget(0)

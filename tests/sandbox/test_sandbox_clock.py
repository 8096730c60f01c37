from datetime import UTC, datetime, timedelta, timezone

import pytest

from langsmith_sandbox import SandboxClock

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_a_set_clock_is_frozen_and_advances_only_when_told() -> None:
    clock = SandboxClock(T0)
    assert clock.frozen
    assert clock.now() == T0
    assert clock.advance(timedelta(days=2)) == T0 + timedelta(days=2)
    assert clock.advance(30) == T0 + timedelta(days=2, seconds=30)


def test_set_converts_to_utc() -> None:
    clock = SandboxClock()
    clock.set(datetime(2026, 1, 15, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == T0
    assert clock.now().tzinfo == UTC


def test_the_default_clock_follows_real_time_and_advance_shifts_it() -> None:
    clock = SandboxClock()
    assert not clock.frozen
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    clock.advance(timedelta(days=10))
    assert abs(clock.now() - (datetime.now(UTC) + timedelta(days=10))) < timedelta(seconds=5)


def test_follow_real_time_undoes_set_and_advance() -> None:
    clock = SandboxClock(T0)
    clock.advance(60)
    clock.follow_real_time()
    assert not clock.frozen
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize("naive", [datetime(2026, 1, 15), datetime(2026, 1, 15, 12, 30)])
def test_naive_times_are_refused(naive: datetime) -> None:
    with pytest.raises(ValueError, match="timezone"):
        SandboxClock(naive)
    with pytest.raises(ValueError, match="timezone"):
        SandboxClock().set(naive)

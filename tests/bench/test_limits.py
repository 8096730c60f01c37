"""The bench's arithmetic: limits, budgets and ratios from counts (no clock is read here)."""

import pytest

from bench import limits
from bench.limits import RateLimit, Target


def test_the_limit_is_the_chain_or_the_rate_bound_whichever_is_larger() -> None:
    assert limits.physical_limit(1, 0.1, {}, None) == pytest.approx(0.1)
    assert limits.physical_limit(4, 0.02, {"a": 10, "b": 710}, RateLimit(600)) == pytest.approx(71.0)
    assert limits.physical_limit(4, 0.1, {"a": 3}, RateLimit(600)) == pytest.approx(0.4)
    assert limits.physical_limit(4, 0.02, {"a": 1200}, RateLimit(600)) == pytest.approx(120.0)


def test_the_rate_bound_counts_the_busiest_key_only() -> None:
    assert limits.rate_bound({"a": 300, "b": 1200}, RateLimit(600)) == pytest.approx(120.0)
    assert limits.rate_bound({"a": 300}, None) == 0.0
    assert limits.rate_bound({}, RateLimit(600)) == 0.0


def test_requests_that_fit_in_one_window_are_not_bound_by_the_rate() -> None:
    assert limits.rate_bound({"a": 600}, RateLimit(600)) == 0.0
    assert limits.rate_bound({"a": 601}, RateLimit(600)) == pytest.approx(60.1)
    assert limits.physical_limit(1, 0.1, {"a": 3}, RateLimit(600)) == pytest.approx(0.1)


def test_the_window_bound_lets_a_first_window_through_at_once() -> None:
    rate = RateLimit(600)
    assert limits.window_bound({"a": 600}, rate, 0.02) == pytest.approx(0.02)
    assert limits.window_bound({"a": 601}, rate, 0.02) == pytest.approx(60.02)
    assert limits.window_bound({"a": 1201}, RateLimit(600, window_seconds=10), 0.0) == pytest.approx(120.0)


def test_a_cycle_with_rotations_is_the_inventory_plus_create_verify_delete() -> None:
    assert limits.CYCLE_WITH_ROTATIONS_CHAIN == limits.INVENTORY_CHAIN + limits.ROTATION_CHAIN == 4


@pytest.mark.parametrize(("rate", "budget"), [(RateLimit(600), 570), (RateLimit(600, 10.0), 546), (RateLimit(60), 57)])
def test_the_rotators_budget_never_overruns_a_window(rate: RateLimit, budget: int) -> None:
    chosen = limits.client_budget(rate)
    assert chosen == budget
    assert chosen * rate.window_seconds / 60 + max(1, chosen // 60) <= rate.limit


def test_ratios_and_targets() -> None:
    assert limits.ratio(2.0, 1.0) == 2.0
    assert limits.ratio(1.0, 0.0) is None
    assert limits.ratio(None, 1.0) is None
    at_most = Target("≤ 1.3", 1.3)
    assert (at_most.met(1.2), at_most.met(1.4), at_most.met(None)) == (True, False, None)
    assert Target("≥ 10", 10, at_least=True).met(12) is True

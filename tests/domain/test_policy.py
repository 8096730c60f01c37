from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rotator.domain.keys import ApiKey, KeyKind
from rotator.domain.policy import (
    UNKNOWN_LIFETIME_LEAD,
    ExpiryPolicy,
    ExpiryStatus,
    assess,
    rotation_due_at,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POLICY = ExpiryPolicy(warn_before=timedelta(days=21), critical_before=timedelta(days=7), max_age=timedelta(days=90))

moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
spans = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=800))


def key(*, created: datetime | None = None, expires: datetime | None = None) -> ApiKey:
    return ApiKey("k", "lsv2_sk_ab", "ci", KeyKind.SERVICE_KEY, created_at=created, expires_at=expires)


@pytest.mark.parametrize(
    ("expires_in", "status"),
    [
        (timedelta(days=60), ExpiryStatus.OK),
        (timedelta(days=21, seconds=1), ExpiryStatus.OK),
        (timedelta(days=21), ExpiryStatus.WARNING),
        (timedelta(days=7, seconds=1), ExpiryStatus.WARNING),
        (timedelta(days=7), ExpiryStatus.CRITICAL),
        (timedelta(seconds=1), ExpiryStatus.CRITICAL),
        (timedelta(0), ExpiryStatus.EXPIRED),
        (-timedelta(days=2), ExpiryStatus.EXPIRED),
    ],
)
def test_expiring_keys_on_each_side_of_each_boundary(expires_in: timedelta, status: ExpiryStatus) -> None:
    result = assess(key(expires=NOW + expires_in), POLICY, NOW)
    assert result.status is status
    assert result.days_left == pytest.approx(expires_in / timedelta(days=1))


@pytest.mark.parametrize(
    ("age", "status"),
    [
        (timedelta(days=89, hours=23), ExpiryStatus.NO_EXPIRY),
        (timedelta(days=90), ExpiryStatus.TOO_OLD),
        (timedelta(days=400), ExpiryStatus.TOO_OLD),
        (None, ExpiryStatus.NO_EXPIRY),
    ],
)
def test_never_expiring_keys_by_age(age: timedelta | None, status: ExpiryStatus) -> None:
    result = assess(key(created=NOW - age if age else None), POLICY, NOW)
    assert result.status is status
    assert result.days_left is None
    assert result.age_days == (pytest.approx(age / timedelta(days=1)) if age else None)


@given(expires=moments, first=moments, later=spans)
def test_status_only_gets_more_urgent_as_time_passes(expires: datetime, first: datetime, later: timedelta) -> None:
    before = assess(key(expires=expires), POLICY, first).status
    after = assess(key(expires=expires), POLICY, first + later).status
    assert after.urgency >= before.urgency


@given(expires=moments, now=moments)
def test_status_agrees_with_days_left(expires: datetime, now: datetime) -> None:
    result = assess(key(expires=expires), POLICY, now)
    assert result.days_left is not None
    remaining = timedelta(days=result.days_left)
    expected = (
        ExpiryStatus.EXPIRED
        if remaining <= timedelta(0)
        else ExpiryStatus.CRITICAL
        if remaining <= POLICY.critical_before
        else ExpiryStatus.WARNING
        if remaining <= POLICY.warn_before
        else ExpiryStatus.OK
    )
    # days_left is a float, so allow the float rounding at an exact boundary to fall either way
    assume(
        all(
            abs(remaining - edge) > timedelta(milliseconds=1)
            for edge in (timedelta(0), POLICY.critical_before, POLICY.warn_before)
        )
    )
    assert result.status is expected


def test_rotation_due_rotate_before_ahead_of_expiry() -> None:
    k = key(created=NOW, expires=NOW + timedelta(days=90))
    assert rotation_due_at(k, rotate_before=timedelta(days=14), max_age=POLICY.max_age) == NOW + timedelta(days=76)


def test_rotation_due_at_two_thirds_of_lifetime_without_rotate_before() -> None:
    k = key(created=NOW, expires=NOW + timedelta(days=90))
    assert rotation_due_at(k, rotate_before=None, max_age=POLICY.max_age) == NOW + timedelta(days=60)


def test_rotate_before_longer_than_lifetime_falls_back_to_two_thirds() -> None:
    k = key(created=NOW, expires=NOW + timedelta(days=9))
    assert rotation_due_at(k, rotate_before=timedelta(days=14), max_age=POLICY.max_age) == NOW + timedelta(days=6)


def test_unknown_lifetime_uses_rotate_before_or_the_default_lead() -> None:
    k = key(expires=NOW + timedelta(days=30))
    assert rotation_due_at(k, rotate_before=timedelta(days=3), max_age=POLICY.max_age) == NOW + timedelta(days=27)
    assert (
        rotation_due_at(k, rotate_before=None, max_age=POLICY.max_age)
        == NOW + timedelta(days=30) - UNKNOWN_LIFETIME_LEAD
    )


def test_never_expiring_key_due_at_max_age_or_at_once_when_age_unknown() -> None:
    assert rotation_due_at(key(created=NOW), rotate_before=None, max_age=POLICY.max_age) == NOW + POLICY.max_age
    assert rotation_due_at(key(), rotate_before=None, max_age=POLICY.max_age) < NOW


@given(created=moments, lifetime=spans, rotate_before=st.none() | spans)
def test_rotation_is_due_within_the_keys_lifetime(
    created: datetime, lifetime: timedelta, rotate_before: timedelta | None
) -> None:
    k = key(created=created, expires=created + lifetime)
    due = rotation_due_at(k, rotate_before=rotate_before, max_age=POLICY.max_age)
    assert created - timedelta(seconds=1) <= due <= created + lifetime
    assert due.microsecond == 0

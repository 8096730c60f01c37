"""The metrics a cycle records, without processes: per-key series rebuilt from each report, the retiring key
left out, and a last-success time that exists only once a cycle succeeded (for Pushgateway push-add)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import generate_latest

from rotator.domain.check import CheckReport, OrgInventory, build_check_report
from rotator.domain.keys import ApiKey, KeyKind
from rotator.domain.outcome import Outcome, Result
from rotator.domain.policy import ExpiryPolicy
from rotator.metrics import Metrics

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
P = "langsmith_rotator_"


def key(key_id: str, description: str, *, expires_in: timedelta | None, kind: KeyKind = KeyKind.SERVICE_KEY) -> ApiKey:
    return ApiKey(
        id=key_id,
        short_key=f"lsv2_sk_{key_id}...",
        description=description,
        kind=kind,
        created_at=NOW - 10 * DAY,
        expires_at=None if expires_in is None else NOW + expires_in,
        last_used_at=NOW - DAY,
    )


def report(*keys: ApiKey, failed: bool = False) -> CheckReport:
    inventory = OrgInventory("acme", error="401 Unauthorized") if failed else OrgInventory("acme", tuple(keys))
    return build_check_report([inventory], {"acme": ExpiryPolicy()}, NOW)


def labels(description: str, managed: str = "", kind: str = "service_key") -> dict[str, str]:
    return {"org": "acme", "description": description, "kind": kind, "managed": managed}


def expiry(metrics: Metrics, description: str, managed: str = "", kind: str = "service_key") -> float | None:
    return metrics.registry.get_sample_value(f"{P}key_expiry_timestamp_seconds", labels(description, managed, kind))


def record(metrics: Metrics, rep: CheckReport, *outcomes: Outcome, ok: bool = True, at: datetime = NOW) -> None:
    metrics.record_cycle(rep, [("acme", o) for o in outcomes], ["acme"], finished_at=at, seconds=1.5, ok=ok)


def test_nothing_before_the_first_cycle_not_even_a_zero_last_success() -> None:
    metrics = Metrics()
    text = generate_latest(metrics.registry).decode()
    assert f"{P}last_successful_cycle_timestamp_seconds" not in text, "a 0 would overwrite a real value on push-add"
    assert f"{P}key_expiry_timestamp_seconds{{" not in text


def test_series_follow_the_latest_report() -> None:
    metrics = Metrics()
    ci, dashboard = key("k1", "ci", expires_in=30 * DAY), key("k2", "dashboard", expires_in=5 * DAY)
    pat = key("k3", "laptop", expires_in=None, kind=KeyKind.PERSONAL_ACCESS_TOKEN)
    record(metrics, report(ci, dashboard, pat))

    assert expiry(metrics, "ci") == (NOW + 30 * DAY).timestamp()
    assert expiry(metrics, "dashboard") == (NOW + 5 * DAY).timestamp()
    assert expiry(metrics, "laptop", kind="personal_access_token") is None, "never expires: no expiry series"
    created = metrics.registry.get_sample_value(
        f"{P}key_created_timestamp_seconds", labels("laptop", kind="personal_access_token")
    )
    assert created == (NOW - 10 * DAY).timestamp()

    record(metrics, report(ci, pat))  # the dashboard key was deleted

    assert expiry(metrics, "dashboard") is None
    assert metrics.registry.get_sample_value(f"{P}key_created_timestamp_seconds", labels("dashboard")) is None
    assert expiry(metrics, "ci") == (NOW + 30 * DAY).timestamp()


def test_the_managed_key_carries_its_name_and_the_retiring_key_is_left_out() -> None:
    metrics = Metrics()
    old, new = key("old", "chatbot", expires_in=2 * DAY), key("new", "chatbot", expires_in=90 * DAY)
    rotated = Outcome("chatbot", Result.ROTATED, "", key_id="new", promoted=True, retiring_key_ids=("old",))
    record(metrics, report(old, new), rotated)

    assert expiry(metrics, "chatbot", managed="chatbot") == (NOW + 90 * DAY).timestamp()
    assert expiry(metrics, "chatbot") is None, "the old key waiting out its grace period is not a risk"
    assert metrics.registry.get_sample_value(f"{P}rotations_total", {"secret": "chatbot", "result": "rotated"}) == 1
    assert (
        metrics.registry.get_sample_value(f"{P}last_rotation_success_timestamp_seconds", {"secret": "chatbot"})
        == NOW.timestamp()
    )

    # Grace over, old key deleted: the next report no longer lists it, and nothing is retiring.
    completed = Outcome("chatbot", Result.COMPLETED, "", key_id="new")
    record(metrics, report(new), completed, at=NOW + DAY)
    assert expiry(metrics, "chatbot", managed="chatbot") == (NOW + 90 * DAY).timestamp()
    assert (
        metrics.registry.get_sample_value(f"{P}last_rotation_success_timestamp_seconds", {"secret": "chatbot"})
        == NOW.timestamp()
    ), "deleting the old key is not a new key in Vault"


def test_repeated_descriptions_keep_the_most_urgent_expiry() -> None:
    metrics = Metrics()
    record(metrics, report(key("a", "shared", expires_in=40 * DAY), key("b", "shared", expires_in=3 * DAY)))
    assert expiry(metrics, "shared") == (NOW + 3 * DAY).timestamp()


def test_last_success_is_set_by_a_good_cycle_and_kept_through_a_failed_one() -> None:
    metrics = Metrics()
    name = f"{P}last_successful_cycle_timestamp_seconds"
    record(metrics, report(key("k1", "ci", expires_in=30 * DAY)))
    assert metrics.registry.get_sample_value(name) == NOW.timestamp()
    assert metrics.registry.get_sample_value(f"{P}org_poll_failed", {"org": "acme"}) == 0

    record(metrics, report(failed=True), ok=False, at=NOW + DAY)

    assert metrics.registry.get_sample_value(name) == NOW.timestamp()
    assert metrics.registry.get_sample_value(f"{P}org_poll_failed", {"org": "acme"}) == 1
    assert expiry(metrics, "ci") is None, "an org that could not be polled has no key series (not stale ones)"
    assert metrics.registry.get_sample_value(f"{P}cycle_duration_seconds_count") == 2

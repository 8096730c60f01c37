from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from rotator.domain.check import ManagedKeys, OrgInventory, RetiringMark, build_check_report
from rotator.domain.exit_codes import ExitCode
from rotator.domain.keys import ApiKey, KeyKind
from rotator.domain.policy import ExpiryPolicy, ExpiryStatus

NOW = datetime(2026, 11, 26, tzinfo=UTC)
POLICIES = {"a": ExpiryPolicy(), "b": ExpiryPolicy()}


def key(description: str, expires_in_days: float | None, age_days: float = 10, role_id: str | None = None) -> ApiKey:
    return ApiKey(
        id=description,
        short_key="lsv2_sk_00",
        description=description,
        kind=KeyKind.SERVICE_KEY,
        created_at=NOW - timedelta(days=age_days),
        expires_at=None if expires_in_days is None else NOW + timedelta(days=expires_in_days),
        role_id=role_id,
    )


def test_rows_sorted_most_urgent_first_then_soonest() -> None:
    report = build_check_report(
        [
            OrgInventory("a", (key("ok", 60), key("old", None, age_days=200), key("warn-late", 20))),
            OrgInventory("b", (key("expired", -1), key("warn-soon", 10), key("young", None), key("crit", 3))),
        ],
        POLICIES,
        NOW,
    )
    assert [row.key.description for row in report.rows] == [
        "expired",
        "crit",
        "warn-soon",
        "warn-late",
        "old",
        "young",
        "ok",
    ]
    assert report.exit_code is ExitCode.CRITICAL


@pytest.mark.parametrize(
    ("keys", "code"),
    [
        ((), ExitCode.OK),
        ((key("ok", 60), key("young", None)), ExitCode.OK),
        ((key("ok", 60), key("warn", 10)), ExitCode.WARNING),
        ((key("old", None, age_days=100),), ExitCode.WARNING),
        ((key("warn", 10), key("crit", 1)), ExitCode.CRITICAL),
        ((key("expired", -5),), ExitCode.CRITICAL),
    ],
)
def test_exit_code_is_the_worst_status(keys: tuple[ApiKey, ...], code: ExitCode) -> None:
    assert build_check_report([OrgInventory("a", keys)], POLICIES, NOW).exit_code is code


def test_an_org_that_could_not_be_polled_means_unknown_even_with_critical_keys() -> None:
    report = build_check_report(
        [OrgInventory("a", (key("crit", 1),)), OrgInventory("b", error="401 unauthorized")], POLICIES, NOW
    )
    assert report.exit_code is ExitCode.UNKNOWN
    assert [inv.org for inv in report.failed_orgs] == ["b"]
    assert [row.assessment.status for row in report.rows] == [ExpiryStatus.CRITICAL]


def test_each_org_uses_its_own_policy() -> None:
    strict = {
        "a": ExpiryPolicy(warn_before=timedelta(days=90), critical_before=timedelta(days=30)),
        "b": ExpiryPolicy(),
    }
    report = build_check_report(
        [OrgInventory("a", (key("a-key", 45),)), OrgInventory("b", (key("b-key", 45),))], strict, NOW
    )
    assert {row.org: row.assessment.status for row in report.rows} == {
        "a": ExpiryStatus.WARNING,
        "b": ExpiryStatus.OK,
    }


def test_role_shown_by_display_name_when_known_else_by_id() -> None:
    report = build_check_report(
        [OrgInventory("a", (key("named", 60, role_id="r1"), key("unnamed", 50, role_id="r2")), {"r1": "Editor"})],
        POLICIES,
        NOW,
    )
    assert {row.key.description: row.role for row in report.rows} == {"named": "Editor", "unnamed": "r2"}


def test_a_replaced_key_is_retiring_with_when_it_goes_and_no_alarm() -> None:
    old, new = key("chatbot-old", 3), key("chatbot-new", 90)
    promoted = NOW - timedelta(hours=2)
    marks = ManagedKeys(
        current={("acme", new.id): "chatbot"},
        retiring={("acme", old.id): RetiringMark("chatbot", promoted, timedelta(hours=24), timedelta(days=7))},
    )
    report = build_check_report([OrgInventory("acme", (old, new))], {"acme": ExpiryPolicy()}, NOW, marks)
    rows = {row.key.id: row for row in report.rows}
    assert rows[old.id].assessment.status is ExpiryStatus.RETIRING
    assert (rows[old.id].managed, rows[old.id].delete_after) == ("chatbot", promoted + timedelta(hours=24))
    assert rows[new.id].managed == "chatbot" and rows[new.id].delete_after is None
    assert report.exit_code is ExitCode.OK, "3 days left, but it is being retired: not critical"
    assert report.rows[-1].key.id == old.id, "listed last"


def test_a_retiring_key_still_in_use_is_deleted_when_max_grace_runs_out() -> None:
    promoted = NOW - timedelta(days=2)
    old = replace(key("chatbot", 30), last_used_at=NOW - timedelta(minutes=5))
    marks = ManagedKeys(
        retiring={("acme", old.id): RetiringMark("chatbot", promoted, timedelta(hours=24), timedelta(days=7))}
    )
    (row,) = build_check_report([OrgInventory("acme", (old,))], {"acme": ExpiryPolicy()}, NOW, marks).rows
    assert row.delete_after == promoted + timedelta(days=7)

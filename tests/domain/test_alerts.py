from datetime import UTC, datetime, timedelta

from rotator.domain.alerts import (
    EMPTY_LEDGER,
    Alert,
    AlertKind,
    Claim,
    DeliveryState,
    Notification,
    SentRecord,
    Severity,
    SinkLedger,
    plan_for_sink,
    record_delivery,
    state_from_document,
    state_to_document,
)
from rotator.domain.check import ManagedKeys, OrgInventory, build_check_report
from rotator.domain.conditions import conditions_after_cycle, resolution_reason
from rotator.domain.keys import AccessScope, ApiKey, KeyKind
from rotator.domain.outcome import Outcome, Result
from rotator.domain.policy import ExpiryPolicy

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
DAY = timedelta(days=1)
RENOTIFY = timedelta(hours=24)


def alert(alert_id: str = "a", severity: Severity = Severity.WARNING, kind: AlertKind = AlertKind.KEY_EXPIRY) -> Alert:
    return Alert(alert_id, kind, severity, f"summary {alert_id}", "do something")


def plan(current: list[Alert], ledger: SinkLedger, at: datetime = NOW) -> list[Notification]:
    return plan_for_sink(current, ledger, now=at, renotify_interval=RENOTIFY, reason=lambda a: f"gone {a.id}")


def deliver(
    current: list[Alert], ledger: SinkLedger, at: datetime = NOW, *, acked: bool = True
) -> tuple[list[Notification], SinkLedger]:
    """Plan, and have the sink acknowledge all of it (or none)."""
    planned = plan(current, ledger, at)
    return planned, record_delivery(ledger, planned, planned if acked else [], now=at, renotify_interval=RENOTIFY)


def test_new_condition_is_sent_once_then_not_until_renotify() -> None:
    first, ledger = deliver([alert()], EMPTY_LEDGER)
    assert [(n.alert.id, n.action, n.repeat) for n in first] == [("a", "trigger", False)]
    again, ledger = deliver([alert()], ledger, NOW + timedelta(hours=23))
    assert again == []
    later, ledger = deliver([alert()], ledger, NOW + timedelta(hours=24))
    assert [(n.action, n.repeat) for n in later] == [("trigger", True)]
    assert ledger.firing["a"].first_seen == NOW


def test_a_trigger_the_sink_did_not_acknowledge_is_planned_again() -> None:
    _, ledger = deliver([alert()], EMPTY_LEDGER, acked=False)
    assert ledger.empty
    retried, ledger = deliver([alert()], ledger, NOW + timedelta(minutes=15))
    assert [(n.action, n.repeat) for n in retried] == [("trigger", False)]
    assert "a" in ledger.firing


def test_severity_change_is_sent_at_once_with_what_the_sink_had() -> None:
    _, ledger = deliver([alert()], EMPTY_LEDGER)
    changed, ledger = deliver([alert(severity=Severity.CRITICAL)], ledger, NOW + timedelta(minutes=15))
    assert [(n.alert.severity, n.repeat) for n in changed] == [(Severity.CRITICAL, False)]
    assert changed[0].previous is not None and changed[0].previous.severity is Severity.WARNING
    assert ledger.firing["a"].severity is Severity.CRITICAL


def test_cleared_condition_is_resolved_with_why_until_acknowledged() -> None:
    _, ledger = deliver([alert()], EMPTY_LEDGER)
    refused, ledger = deliver([], ledger, NOW + DAY, acked=False)
    assert [(n.alert.summary, n.action, n.reason) for n in refused] == [("summary a", "resolve", "gone a")]
    repeated, ledger = deliver([], ledger, NOW + DAY + timedelta(minutes=15))
    assert [n.action for n in repeated] == ["resolve"]
    assert ledger.empty
    assert plan([], ledger, NOW + 2 * DAY) == []


def test_a_sink_that_never_took_the_trigger_gets_no_resolve() -> None:
    _, ledger = deliver([alert()], EMPTY_LEDGER, acked=False)
    assert plan([], ledger, NOW + DAY) == []


def test_events_wait_until_acknowledged_for_at_most_the_renotify_interval() -> None:
    event = alert("ok", Severity.INFO, AlertKind.ROTATION_SUCCEEDED)
    sent, ledger = deliver([event], EMPTY_LEDGER, acked=False)
    assert [n.action for n in sent] == ["trigger"]
    assert set(ledger.pending_events) == {"ok"}
    again, ledger = deliver([], ledger, NOW + timedelta(hours=1))
    assert [n.alert.id for n in again] == ["ok"], "the event is sent again, though the cycle did not raise it"
    assert ledger.empty
    _, stale = deliver([event], EMPTY_LEDGER, acked=False)
    assert plan([], stale, NOW + RENOTIFY) == [], "a day-old 'rotated' is news no longer"


def test_delivery_state_round_trips_and_drops_damaged_records() -> None:
    ledger = SinkLedger({"a": SentRecord(Severity.WARNING, NOW, NOW, alert())})
    state = DeliveryState({"hook": ledger}, Claim("host/1/x", NOW + DAY))
    document = state_to_document(state)
    assert state_from_document(document) == state
    document["sinks"]["hook"]["firing"]["b"] = {"severity": "loud"}
    assert set(state_from_document(document).ledger("hook").firing) == {"a"}
    assert state_from_document(document).claimed_by_other("host/2/y", NOW) is not None
    assert state_from_document(document).claimed_by_other("host/1/x", NOW) is None
    assert state_from_document(document).claimed_by_other("host/2/y", NOW + DAY) is None, "a claim lapses"


def test_a_schema_1_state_is_every_sinks_starting_point_and_error_became_warning() -> None:
    old = {
        "schema": 1,
        "alerts": {
            "r": {
                "severity": "error",
                "first_seen": NOW.isoformat(),
                "last_sent": NOW.isoformat(),
                "alert": {"id": "r", "kind": "rotation_failed", "severity": "error", "summary": "s", "action": "a"},
            }
        },
    }
    state = state_from_document(old)
    for sink in ("slack", "pagerduty"):
        assert state.ledger(sink).firing["r"].severity is Severity.WARNING
    assert "*" not in state_to_document(state)["sinks"]


def key(
    key_id: str, description: str, expires_in: float | None, *, kind: KeyKind = KeyKind.SERVICE_KEY, age: float = 80
) -> ApiKey:
    return ApiKey(
        key_id,
        f"lsv2_sk_{key_id}...",
        description,
        kind,
        NOW - age * DAY,
        None if expires_in is None else NOW + expires_in * DAY,
        None,
        AccessScope.WORKSPACE,
        ("production",),
    )


def conditions(keys: tuple[ApiKey, ...], outcomes: list[tuple[str, Outcome]], failed: bool = False) -> list[Alert]:
    inventories = [OrgInventory("acme", keys)] + ([OrgInventory("eu", error="401 Unauthorized")] if failed else [])
    report = build_check_report(inventories, {"acme": ExpiryPolicy(), "eu": ExpiryPolicy()}, NOW)
    return conditions_after_cycle(
        report, outcomes, admin_key_ids={"acme": "admin"}, admin_key_sources={"acme": "env LANGSMITH_API_KEY"}
    )


def test_each_condition_becomes_an_alert_a_person_can_act_on() -> None:
    keys = (
        key("ok", "fine", 60),
        key("warn", "soon", 15),
        key("crit", "sooner", 3),
        key("dead", "gone", -1),
        key("old", "ancient", None, age=120),
        key("admin", "rotator admin", 5),
        key("pat", "alice laptop", 10, kind=KeyKind.PERSONAL_ACCESS_TOKEN),
        key("mine", "chatbot", 2),
    )
    outcomes = [
        ("acme", Outcome("chatbot", Result.FAILED, "create refused: 403", key_id="mine")),
        (
            "acme",
            Outcome(
                "held-one", Result.HELD, "old key still used", key_id="x", retiring_key_ids=("y",), held_key_id="y"
            ),
        ),
    ]
    found = {a.id: a for a in conditions(keys, outcomes, failed=True)}
    assert set(found) == {
        "key-expiry:acme:warn",
        "key-expiry:acme:crit",
        "key-expiry:acme:dead",
        "key-too-old:acme:old",
        "admin-key-expiry:acme:admin",
        "key-expiry:acme:pat",
        "key-expiry:acme:mine",
        "org-unpollable:eu",
        "rotation-failed:chatbot",
        "old-key-in-use:held-one",
    }
    assert found["key-expiry:acme:dead"].severity is Severity.CRITICAL
    assert "expired 1.0 days ago" in found["key-expiry:acme:dead"].summary
    assert found["key-expiry:acme:warn"].severity is Severity.WARNING
    assert found["admin-key-expiry:acme:admin"].kind is AlertKind.ADMIN_KEY_EXPIRY
    assert "env LANGSMITH_API_KEY" in found["admin-key-expiry:acme:admin"].action
    assert "rotator rotate chatbot" in found["key-expiry:acme:mine"].action
    assert found["key-expiry:acme:mine"].managed == "chatbot"
    assert "owner" in found["key-expiry:acme:pat"].action
    assert "Nothing rotates this key" in found["key-expiry:acme:crit"].action
    assert "401" in found["org-unpollable:eu"].action
    assert found["rotation-failed:chatbot"].severity is Severity.WARNING
    assert found["key-expiry:acme:crit"].key_id == "crit"
    assert found["old-key-in-use:held-one"].key_id == "y"
    assert found["key-expiry:acme:warn"].details["workspaces"] == "production"


def test_a_rotated_key_resolves_its_expiry_alert() -> None:
    before = {
        a.id for a in conditions((key("old", "chatbot", 2),), [("acme", Outcome("chatbot", Result.IDLE, "", "old"))])
    }
    assert "key-expiry:acme:old" in before
    rotated = [("acme", Outcome("chatbot", Result.ROTATED, "new key in Vault", "new", True, retiring_key_ids=("old",)))]
    after = {a.id: a for a in conditions((key("old", "chatbot", 2), key("new", "chatbot", 90)), rotated)}
    assert "key-expiry:acme:old" not in after
    assert after["rotation-succeeded:chatbot:new"].severity is Severity.INFO


def test_a_key_declared_under_managed_gets_the_managed_advice_even_when_the_run_did_not_name_it() -> None:
    report = build_check_report(
        [OrgInventory("acme", (key("mine", "chatbot", 2),))],
        {"acme": ExpiryPolicy()},
        NOW,
        ManagedKeys(current={("acme", "mine"): "chatbot"}),
    )
    failed = [("acme", Outcome("chatbot", Result.FAILED, "journal unreadable"))]  # no key_id: it never got that far
    (alert_, _) = conditions_after_cycle(report, failed, admin_key_ids={}, admin_key_sources={})
    assert alert_.managed == "chatbot"
    assert "manages this key as 'chatbot'" in alert_.action
    assert "Nothing rotates this key" not in alert_.action


def test_a_resolve_says_why_the_condition_ended() -> None:
    before = conditions((key("gone", "a", 3), key("renew", "b", 3), key("old", "c", 3)), [])
    by_id = {a.id: a for a in before}
    rotated = [("acme", Outcome("chatbot", Result.ROTATED, "", "new", True, retiring_key_ids=("old",)))]
    report = build_check_report(
        [OrgInventory("acme", (key("renew", "b", 300), key("old", "c", 3), key("new", "c", 90)))],
        {"acme": ExpiryPolicy()},
        NOW,
    )
    reason = resolution_reason(report, rotated)
    assert reason(by_id["key-expiry:acme:gone"]).startswith("deleted")
    assert reason(by_id["key-expiry:acme:renew"]).startswith("renewed")
    assert reason(by_id["key-expiry:acme:old"]).startswith("rotated")
    failed = [a for a in conditions((), [("acme", Outcome("chatbot", Result.FAILED, "403"))])]
    assert "no longer fails (now rotated)" in reason(failed[0])

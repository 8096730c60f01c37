from datetime import UTC, datetime, timedelta

from rotator.domain.alerts import (
    Alert,
    AlertKind,
    SentRecord,
    Severity,
    plan_notifications,
    state_from_document,
    state_to_document,
)
from rotator.domain.check import OrgInventory, build_check_report
from rotator.domain.conditions import conditions_after_cycle
from rotator.domain.keys import AccessScope, ApiKey, KeyKind
from rotator.domain.outcome import Outcome, Result
from rotator.domain.policy import ExpiryPolicy

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
DAY = timedelta(days=1)
RENOTIFY = timedelta(hours=24)


def alert(alert_id: str = "a", severity: Severity = Severity.WARNING, kind: AlertKind = AlertKind.KEY_EXPIRY) -> Alert:
    return Alert(alert_id, kind, severity, f"summary {alert_id}", "do something")


def test_new_condition_is_sent_once_then_not_until_renotify() -> None:
    first, state = plan_notifications([alert()], {}, now=NOW, renotify_interval=RENOTIFY)
    assert [(n.alert.id, n.action, n.repeat) for n in first] == [("a", "trigger", False)]
    again, state = plan_notifications([alert()], state, now=NOW + timedelta(hours=23), renotify_interval=RENOTIFY)
    assert again == []
    later, state = plan_notifications([alert()], state, now=NOW + timedelta(hours=24), renotify_interval=RENOTIFY)
    assert [(n.action, n.repeat) for n in later] == [("trigger", True)]
    assert state["a"].first_seen == NOW


def test_severity_change_is_sent_at_once() -> None:
    _, state = plan_notifications([alert()], {}, now=NOW, renotify_interval=RENOTIFY)
    changed, state = plan_notifications(
        [alert(severity=Severity.CRITICAL)], state, now=NOW + timedelta(minutes=15), renotify_interval=RENOTIFY
    )
    assert [(n.alert.severity, n.repeat) for n in changed] == [(Severity.CRITICAL, False)]
    assert state["a"].severity is Severity.CRITICAL


def test_cleared_condition_is_resolved_once_with_what_was_sent() -> None:
    _, state = plan_notifications([alert()], {}, now=NOW, renotify_interval=RENOTIFY)
    resolved, state = plan_notifications([], state, now=NOW + DAY, renotify_interval=RENOTIFY)
    assert [(n.alert.summary, n.action) for n in resolved] == [("summary a", "resolve")]
    assert state == {}
    assert plan_notifications([], state, now=NOW + 2 * DAY, renotify_interval=RENOTIFY)[0] == []


def test_events_are_sent_every_time_and_never_kept() -> None:
    event = alert("ok", Severity.INFO, AlertKind.ROTATION_SUCCEEDED)
    sent, state = plan_notifications([event], {}, now=NOW, renotify_interval=RENOTIFY)
    assert [n.action for n in sent] == ["trigger"]
    assert state == {}


def test_dedup_state_round_trips_and_drops_damaged_records() -> None:
    state = {"a": SentRecord(Severity.WARNING, NOW, NOW, alert())}
    document = state_to_document(state)
    assert state_from_document(document) == state
    document["alerts"]["b"] = {"severity": "loud"}
    assert set(state_from_document(document)) == {"a"}


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
    assert found["rotation-failed:chatbot"].severity is Severity.ERROR
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

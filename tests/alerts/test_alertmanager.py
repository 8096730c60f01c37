"""The Alertmanager sink against a real Alertmanager (Debian's prometheus-alertmanager), and its payloads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from rotator.alerts import AlertmanagerSink, HttpOptions
from rotator.domain.alerts import Alert, Notification, Severity
from tests.support.alerts import NOW, key_alert, resolve, rotated_event, trigger
from tests.support.receivers import Receiver

pytestmark = pytest.mark.integration


@pytest.fixture
def sink(alertmanager: str) -> Iterator[AlertmanagerSink]:
    am = AlertmanagerSink(url=alertmanager, http=HttpOptions(timeout=5))
    yield am
    am.close()


def _unique_alert(severity: Severity = Severity.WARNING) -> Alert:
    """Alertmanager is shared by the session: each test's alerts have ids of their own."""
    return key_alert(alert_id=f"key-expiry:prod-us:{uuid.uuid4()}", severity=severity)


def _active(alertmanager: str, alert_id: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{alertmanager}/api/v2/alerts",
        params={"active": "true", "silenced": "false", "inhibited": "false", "filter": f'alert_id="{alert_id}"'},
    )
    response.raise_for_status()
    alerts: list[dict[str, Any]] = response.json()
    return [a for a in alerts if a["status"]["state"] == "active"]


def test_firing_alerts_become_active_with_their_labels_and_annotations(
    sink: AlertmanagerSink, alertmanager: str
) -> None:
    alert = replace(_unique_alert(Severity.CRITICAL), labels={"team": "sre", "org": "not this one"})
    sink.send([trigger(alert)], [alert], now=datetime.now(UTC))

    [active] = _active(alertmanager, alert.id)
    assert active["labels"] == {
        "alertname": "LangSmithKeyExpiry",
        "severity": "critical",
        "alert_id": alert.id,
        "org": "prod-us",
        "kind": "service_key",
        "key_id": alert.key_id,
        "managed": "chatbot-prod",
        "team": "sre",
    }
    annotations = active["annotations"]
    assert annotations["key_description"] == "chatbot prod"
    assert annotations["summary"] == alert.summary
    assert annotations["description"] == alert.action
    assert annotations["short_key"] == "lsv2_sk_3f1c..." and annotations["expires_at"] == alert.details["expires_at"]


def test_a_resolve_ends_the_alert(sink: AlertmanagerSink, alertmanager: str) -> None:
    alert = _unique_alert()
    sink.send([trigger(alert)], [alert], now=datetime.now(UTC))
    assert len(_active(alertmanager, alert.id)) == 1

    sink.send([resolve(alert)], [], now=datetime.now(UTC))
    assert _active(alertmanager, alert.id) == []


def test_reposting_each_cycle_keeps_one_alert_active(sink: AlertmanagerSink, alertmanager: str) -> None:
    alert = _unique_alert()
    first = datetime.now(UTC)
    sink.send([trigger(alert)], [alert], now=first)
    sink.send([], [alert], now=first + timedelta(seconds=1))  # a later cycle: nothing new, still firing

    [active] = _active(alertmanager, alert.id)
    assert datetime.fromisoformat(active["startsAt"]) <= first + timedelta(milliseconds=1)  # the earliest kept


def test_a_severity_change_ends_the_old_label_set(sink: AlertmanagerSink, alertmanager: str) -> None:
    warning = _unique_alert(Severity.WARNING)
    critical = key_alert(alert_id=warning.id, severity=Severity.CRITICAL)
    sink.send([trigger(warning)], [warning], now=datetime.now(UTC))
    sink.send([Notification(critical, "trigger", previous=warning)], [critical], now=datetime.now(UTC))

    assert [a["labels"]["severity"] for a in _active(alertmanager, warning.id)] == ["critical"]


def test_payload_ends_after_the_resolve_timeout_and_skips_events(receiver: Receiver) -> None:
    sink = AlertmanagerSink(
        url=receiver.url + "/am/",
        resolve_timeout=timedelta(minutes=30),
        generator_url="https://rotator.example.com/status",
        http=HttpOptions(timeout=5),
    )
    alert, event = key_alert(), rotated_event()
    try:
        sink.send([trigger(event)], [event], now=NOW)  # an event alone: nothing to post
        assert receiver.requests == []
        sink.send([trigger(alert), trigger(event)], [alert, event], now=NOW)
    finally:
        sink.close()

    [request] = receiver.requests
    assert request.path == "/am/api/v2/alerts"
    [posted] = request.json()
    assert posted["startsAt"] == "2026-01-15T12:00:00.000Z"
    assert posted["endsAt"] == "2026-01-15T12:30:00.000Z"
    assert posted["generatorURL"] == "https://rotator.example.com/status"
    assert posted["labels"]["alertname"] == "LangSmithKeyExpiry"


def test_a_resolve_ends_now_and_says_why_and_an_escalation_ends_the_old_label_set(receiver: Receiver) -> None:
    sink = AlertmanagerSink(url=receiver.url, http=HttpOptions(timeout=5))
    gone, warning = key_alert(description="gone"), key_alert(description="rising")
    critical = replace(warning, severity=Severity.CRITICAL)
    later = NOW + timedelta(minutes=15)
    try:
        sink.send([], [], now=NOW)  # nothing firing, nothing to end: no request
        sink.send(
            [
                Notification(gone, "resolve", reason="deleted: LangSmith no longer lists the key"),
                Notification(critical, "trigger", previous=warning),
            ],
            [critical],
            now=later,
        )
    finally:
        sink.close()

    [request] = receiver.requests
    posted = {(a["annotations"]["key_description"], a["labels"]["severity"]): a for a in request.json()}
    assert {key: a["endsAt"] for key, a in posted.items()} == {
        ("rising", "critical"): "2026-01-15T13:00:00.000Z",
        ("rising", "warning"): "2026-01-15T12:15:00.000Z",
        ("gone", "warning"): "2026-01-15T12:15:00.000Z",
    }
    assert posted[("gone", "warning")]["annotations"]["resolved_because"].startswith("deleted")
    assert posted[("rising", "warning")]["annotations"]["resolved_because"] == "now critical"

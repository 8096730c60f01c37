from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from rotator.alerts import HttpOptions, PagerDutySink, SinkRejectedError
from rotator.alerts.pagerduty import change_events_url, dedup_key
from rotator.domain.alerts import Severity
from tests.support.alerts import NOW, ROUTING_KEY, key_alert, resolve, rotated_event, trigger
from tests.support.receivers import Receiver, Reply

ACCEPTED = Reply(202, '{"status":"success","message":"Event processed","dedup_key":"x"}')


@pytest.fixture
def pd_receiver(receivers: Callable[..., Receiver]) -> Receiver:
    return receivers(ACCEPTED)


@pytest.fixture
def pagerduty(pd_receiver: Receiver, fake_clock_http: HttpOptions) -> Iterator[PagerDutySink]:
    sink = PagerDutySink(routing_key=ROUTING_KEY, events_url=pd_receiver.url + "/v2/enqueue", http=fake_clock_http)
    yield sink
    sink.close()


def test_trigger_has_the_events_v2_shape(pagerduty: PagerDutySink, pd_receiver: Receiver) -> None:
    alert = key_alert(severity=Severity.CRITICAL)
    pagerduty.send([trigger(alert)], [alert], now=NOW)

    [request] = pd_receiver.requests
    assert request.path == "/v2/enqueue"
    event = request.json()
    assert event["routing_key"] == ROUTING_KEY and len(event["routing_key"]) == 32
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == alert.id
    payload = event["payload"]
    assert payload["summary"] == alert.summary
    assert payload["source"] == "langsmith-key-rotator"
    assert payload["severity"] == "critical"
    assert payload["timestamp"] == "2026-01-15T12:00:00.000Z"
    assert payload["component"] == "chatbot-prod"
    assert payload["group"] == "prod-us"
    assert payload["class"] == "key_expiry"
    details = payload["custom_details"]
    assert details["action"] == alert.action and details["short_key"] == "lsv2_sk_3f1c..."
    assert details["alert_id"] == alert.id and details["repeat"] is False
    assert all(isinstance(payload[f], str) for f in ("summary", "source", "severity", "component", "group", "class"))


@pytest.mark.parametrize("severity", list(Severity))
def test_every_severity_maps_to_a_pagerduty_severity(
    pagerduty: PagerDutySink, pd_receiver: Receiver, severity: Severity
) -> None:
    pagerduty.send([trigger(key_alert(severity=severity))], [], now=NOW)
    assert pd_receiver.requests[0].json()["payload"]["severity"] == severity.value
    assert severity.value in {"critical", "error", "warning", "info"}


def test_resolve_uses_the_same_dedup_key(pagerduty: PagerDutySink, pd_receiver: Receiver) -> None:
    alert = key_alert()
    pagerduty.send([trigger(alert)], [alert], now=NOW)
    pagerduty.send([resolve(alert)], [], now=NOW)

    opened, closed = (r.json() for r in pd_receiver.requests)
    assert closed == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": opened["dedup_key"]}


def test_long_ids_and_summaries_fit_pagerdutys_limits() -> None:
    long_id = "key-expiry:" + "o" * 300
    alert = key_alert(alert_id=long_id)
    key = dedup_key(alert)
    assert len(key) == 255 and key == dedup_key(alert)  # stable
    assert key != dedup_key(key_alert(alert_id=long_id + "x"))  # and still distinct


def test_long_summary_is_cut_to_1024(pagerduty: PagerDutySink, pd_receiver: Receiver) -> None:
    alert = key_alert(description="d" * 2000)
    pagerduty.send([trigger(alert)], [], now=NOW)
    summary = pd_receiver.requests[0].json()["payload"]["summary"]
    assert len(summary) == 1024 and summary.endswith("…")


def test_a_rotation_event_is_a_change_event_that_pages_no_one(pagerduty: PagerDutySink, pd_receiver: Receiver) -> None:
    event = rotated_event()
    pagerduty.send([trigger(event)], [], now=NOW)

    [request] = pd_receiver.requests
    assert request.path == "/v2/change/enqueue"
    body = request.json()
    assert set(body) == {"routing_key", "payload"}  # no event_action, no dedup_key: nothing to resolve
    assert body["payload"]["summary"] == event.summary and body["payload"]["source"] == "langsmith-key-rotator"
    assert change_events_url("https://events.eu.pagerduty.com/v2/enqueue") == (
        "https://events.eu.pagerduty.com/v2/change/enqueue"
    )


def test_400_is_rejected_without_retry(pagerduty: PagerDutySink, pd_receiver: Receiver) -> None:
    pd_receiver.script(Reply(400, '{"status":"invalid event","errors":["\'payload.summary\' is missing"]}'))
    with pytest.raises(SinkRejectedError) as raised:
        pagerduty.send([trigger(key_alert())], [], now=NOW)
    assert len(pd_receiver.requests) == 1 and raised.value.status == 400
    assert "payload.summary" in str(raised.value) and ROUTING_KEY not in str(raised.value)


def test_anything_but_202_is_a_failure(pagerduty: PagerDutySink, pd_receiver: Receiver) -> None:
    pd_receiver.script(Reply(200, "ok"))
    with pytest.raises(SinkRejectedError, match="answered 200"):
        pagerduty.send([trigger(key_alert())], [], now=NOW)

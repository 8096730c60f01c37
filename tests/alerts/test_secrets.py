"""I5: no webhook URL secret, routing key or HMAC secret in payloads, logs, exceptions, reprs or metrics hooks."""

from __future__ import annotations

import traceback
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from rotator.alerts import (
    DeliveryError,
    Dispatcher,
    HttpOptions,
    OnDelivery,
    PagerDutySink,
    RetryPolicy,
    Sink,
    SlackSink,
    WebhookSink,
)
from rotator.bootstrap.sinks import build_sinks
from rotator.config import AlertsSettings
from rotator.secrets import SecretResolver
from tests.support.alerts import (
    HMAC_SECRET,
    NOW,
    ROUTING_KEY,
    SECRETS,
    SLACK_PATH,
    WEBHOOK_PATH,
    WEBHOOK_QUERY,
    key_alert,
    resolve,
    to_every_sink,
    trigger,
)
from tests.support.clocks import FakeClock
from tests.support.receivers import Receiver, Reply

AM_PASSWORD = "amBasicAuthPassword777"
ALL_SECRETS = (*SECRETS, AM_PASSWORD, WEBHOOK_QUERY)
ONE_TRY = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)
ONE_TRY_HTTP = HttpOptions(retry=ONE_TRY)


def _assert_clean(text: str) -> None:
    leaked = [secret[:6] + "..." for secret in ALL_SECRETS if secret in text]
    assert not leaked, f"secrets leaked: {leaked}"


def _build(
    receivers: Callable[..., Receiver], replies: dict[str, Reply], on_delivery: OnDelivery | None = None
) -> tuple[Dispatcher, dict[str, Receiver]]:
    rx = {name: receivers(reply) for name, reply in replies.items()}
    host = rx["alertmanager"].url.removeprefix("http://")
    settings = AlertsSettings.model_validate(
        {
            "sinks": [
                {"type": "slack", "webhook_url": {"env": "SLACK"}},
                {"type": "pagerduty", "routing_key": {"env": "PD"}, "events_url": rx["pagerduty"].url + "/v2/enqueue"},
                {"type": "alertmanager", "url": f"http://rotator:{AM_PASSWORD}@{host}"},
                {"type": "webhook", "url": {"env": "HOOK"}, "hmac_secret": {"env": "HMAC"}},
            ]
        }
    )
    values = {
        "SLACK": rx["slack"].url + SLACK_PATH,
        "PD": ROUTING_KEY,
        "HOOK": f"{rx['webhook'].url}{WEBHOOK_PATH}?{WEBHOOK_QUERY}",
        "HMAC": HMAC_SECRET,
    }

    clock = FakeClock()  # Slack spaces its messages a second apart: on a fake clock
    http = HttpOptions(retry=ONE_TRY, sleep=clock.sleep, clock=clock)
    dispatcher = build_sinks(settings, SecretResolver(values), on_delivery=on_delivery, http=http)
    return dispatcher, rx


def test_failures_that_echo_secrets_leak_none_into_logs_errors_or_reprs(receivers: Callable[..., Receiver]) -> None:
    # Receivers that answer errors quoting the very secrets they were sent: the worst case for a scrubber.
    echo = f"bad: {SLACK_PATH} {ROUTING_KEY} {WEBHOOK_PATH}?{WEBHOOK_QUERY} {HMAC_SECRET} {AM_PASSWORD}"
    reports: list[tuple[str, bool]] = []
    dispatcher, _ = _build(
        receivers,
        {
            "slack": Reply(403, echo),
            "pagerduty": Reply(400, echo),
            "alertmanager": Reply(503, echo),
            "webhook": Reply(500, echo),
        },
        on_delivery=lambda sink, ok: reports.append((sink, ok)),
    )
    alert = key_alert()
    with capture_logs() as logs:
        deliveries = dispatcher.dispatch(
            to_every_sink(dispatcher, [trigger(alert), resolve(key_alert(description="old"))], [alert]), NOW
        )
        dispatcher.close()

    failed = {d.sink: d.error or "" for d in deliveries if not d.ok}
    assert set(failed) == {"slack", "pagerduty", "alertmanager", "webhook"}
    assert all("bad: ***" in error for error in failed.values())  # the receiver's words, scrubbed
    assert sorted(reports) == [
        ("alertmanager", False),
        ("log", True),
        ("pagerduty", False),
        ("slack", False),
        ("webhook", False),
    ]
    _assert_clean(repr(logs))
    _assert_clean(repr(deliveries))
    _assert_clean(repr(dispatcher))
    assert any(log["event"] == "alert.delivery_failed" for log in logs)


@pytest.mark.parametrize("status", [400, 503])
def test_exceptions_and_tracebacks_hold_no_secret(receiver: Receiver, status: int) -> None:
    receiver.default = Reply(status, "you sent:", echo=True)
    sinks: list[Sink] = [
        SlackSink(webhook_url=receiver.url + SLACK_PATH, http=ONE_TRY_HTTP),
        PagerDutySink(routing_key=ROUTING_KEY, events_url=receiver.url + "/v2/enqueue", http=ONE_TRY_HTTP),
        WebhookSink(url=f"{receiver.url}{WEBHOOK_PATH}?{WEBHOOK_QUERY}", hmac_secret=HMAC_SECRET, http=ONE_TRY_HTTP),
    ]
    for sink in sinks:
        with pytest.raises(DeliveryError) as raised:
            sink.send([trigger(key_alert())], [], now=NOW)
        sink.close()
        _assert_clean(str(raised.value) + repr(raised.value) + repr(sink))
        _assert_clean("".join(traceback.format_exception(raised.value)))
        # No chained httpx error (its request holds the URL) rides along.
        error = raised.value
        assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_unreachable_secret_urls_are_masked(unused_port: int) -> None:
    sink = WebhookSink(url=f"http://127.0.0.1:{unused_port}{WEBHOOK_PATH}?{WEBHOOK_QUERY}", http=ONE_TRY_HTTP)
    with pytest.raises(DeliveryError) as raised:
        sink.send([trigger(key_alert())], [], now=NOW)
    sink.close()
    assert f"cannot reach http://127.0.0.1:{unused_port}/***?***" in str(raised.value)
    _assert_clean(str(raised.value))


def test_payloads_carry_no_secret_but_pagerdutys_routing_key_field(receivers: Callable[..., Receiver]) -> None:
    dispatcher, rx = _build(
        receivers, {"slack": Reply(), "pagerduty": Reply(202), "alertmanager": Reply(), "webhook": Reply()}
    )
    alert = key_alert()
    with dispatcher:
        deliveries = dispatcher.dispatch(
            to_every_sink(dispatcher, [trigger(alert), resolve(key_alert(description="old"))], [alert]), NOW
        )
    assert all(d.ok for d in deliveries), deliveries

    for name in ("slack", "alertmanager", "webhook"):
        assert rx[name].requests, name
        for request in rx[name].requests:
            _assert_clean(request.body.decode())
    pd_requests = rx["pagerduty"].requests
    assert len(pd_requests) == 2
    for request in pd_requests:
        event = request.json()
        assert event.pop("routing_key") == ROUTING_KEY
        _assert_clean(repr(event))
    # Alertmanager got its credentials as a header, as httpx sends URL userinfo, never in the body.
    assert rx["alertmanager"].requests[0].headers["Authorization"].startswith("Basic ")

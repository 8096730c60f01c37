from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pytest
from structlog.testing import capture_logs

from rotator.alerting import Alerting
from rotator.alerts import (
    AlertFilter,
    Dispatcher,
    HttpOptions,
    RetryPolicy,
    Route,
    SinkRateLimitedError,
    SinkUnavailableError,
    SlackSink,
    WebhookSink,
)
from rotator.alerts.dispatch import Delivery
from rotator.alerts.routing import ACCEPT_ALL
from rotator.bootstrap.sinks import build_sinks, sink_filter
from rotator.config import AlertsSettings, ConfigError, SinkFilters
from rotator.domain.alerts import Alert, DeliveryState, Notification, Severity
from rotator.secrets import SecretResolver
from rotator.vault.errors import VaultPermissionError
from tests.support.alerts import (
    NOW,
    SLACK_PATH,
    WEBHOOK_PATH,
    key_alert,
    resolve,
    rotated_event,
    to_every_sink,
    trigger,
)
from tests.support.clocks import FakeClock
from tests.support.receivers import Receiver, Reply

FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
FAST_HTTP = HttpOptions(retry=FAST_RETRY)


class RecordingSink:
    def __init__(self, name: str, *, resends_firing: bool = False, error: Exception | None = None) -> None:
        self.name = name
        self.resends_firing = resends_firing
        self.error = error
        self.calls: list[tuple[list[Notification], list[Alert]]] = []
        self.closed = False
        self.block: threading.Event | None = None

    def send(self, notifications: Sequence[Notification], firing: Sequence[Alert], *, now: datetime) -> None:
        self.calls.append((list(notifications), list(firing)))
        if self.block is not None:
            self.block.wait(10)
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed = True


class Reports:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def __call__(self, sink: str, ok: bool) -> None:
        self.calls.append((sink, ok))


# --- filters -------------------------------------------------------------------------------------------------


def test_min_severity() -> None:
    only_critical = AlertFilter(min_severity=Severity.CRITICAL)
    assert only_critical.accepts(key_alert(severity=Severity.CRITICAL))
    assert not only_critical.accepts(key_alert(severity=Severity.WARNING))
    assert AlertFilter(min_severity=Severity.INFO).accepts(rotated_event())
    assert not AlertFilter().accepts(rotated_event())  # default warning: events (info) are not sent


def test_filters_by_org_key_kind_and_managed() -> None:
    from_settings = sink_filter(
        "warning", SinkFilters(orgs=["prod-us"], kinds=["personal_access_token"], managed=False)
    )
    pat = key_alert(key_kind="personal_access_token", managed=None)
    assert from_settings.accepts(pat)
    assert not from_settings.accepts(key_alert(key_kind="personal_access_token", managed=None, org="prod-eu"))
    assert not from_settings.accepts(key_alert(key_kind="service_key", managed=None))
    assert not from_settings.accepts(key_alert(key_kind="personal_access_token", managed="chatbot"))
    assert AlertFilter(managed=True).accepts(key_alert(managed="chatbot"))
    assert not AlertFilter(managed=True).accepts(key_alert(managed=None))
    no_key = key_alert()
    no_key = Alert(no_key.id, no_key.kind, no_key.severity, "s", "a", org="prod-us")  # e.g. org unpollable
    assert not AlertFilter(key_kinds=frozenset({"service_key"})).accepts(no_key)
    assert AlertFilter().accepts(no_key)


def alerting(dispatcher: Dispatcher) -> Alerting:
    """Alerting with no Vault: the delivery state lives in the process."""
    return Alerting(dispatcher, None, holder="test", renotify_interval=timedelta(hours=24), labels={"team": "sre"})


def run(planner: Alerting, alerts: list[Alert]) -> list[Delivery]:
    return list(planner.run(alerts, reason=lambda a: "fixed", unknown_orgs=(), now=NOW).deliveries)


def test_each_sink_gets_what_its_filter_lets_through_and_resolves_only_what_it_took() -> None:
    pager = RecordingSink("pager")
    chat = RecordingSink("chat")
    eu_only = RecordingSink("eu")
    critical, warning = key_alert(severity=Severity.CRITICAL, description="c"), key_alert(description="w")
    reports = Reports()
    with Dispatcher(
        [
            Route(pager, AlertFilter(min_severity=Severity.CRITICAL)),
            Route(chat, AlertFilter()),
            Route(eu_only, AlertFilter(orgs=frozenset({"prod-eu"}))),
        ],
        on_delivery=reports,
    ) as dispatcher:
        planner = alerting(dispatcher)
        deliveries = run(planner, [critical, warning])
        run(planner, [])

    [(pager_got, pager_firing), (pager_resolved, _)] = pager.calls
    assert [(n.action, n.alert.severity) for n in pager_got] == [("trigger", "critical")]
    assert pager_firing == []  # only sinks that re-post firing alerts get them
    assert [(n.action, n.alert.id, n.reason) for n in pager_resolved] == [("resolve", critical.id, "fixed")]
    assert [len(got) for got, _ in chat.calls] == [2, 2]
    assert eu_only.calls == []  # nothing for it: not called, not reported
    assert sorted(reports.calls) == [("chat", True), ("chat", True), ("pager", True), ("pager", True)]
    assert {(d.sink, d.ok, d.notifications) for d in deliveries} == {("pager", True, 1), ("chat", True, 2)}
    assert pager_got[0].alert.labels == {"team": "sre"}, "static labels go on every alert"


def test_firing_goes_to_sinks_that_repost_it_even_when_nothing_is_new() -> None:
    reposting = RecordingSink("am", resends_firing=True)
    plain = RecordingSink("chat")
    held, info = key_alert(), key_alert(severity=Severity.INFO, description="i")
    with Dispatcher([Route(reposting, AlertFilter()), Route(plain, AlertFilter())]) as dispatcher:
        planner = alerting(dispatcher)
        run(planner, [held, info])
        run(planner, [held, info])
    assert [(len(got), [a.id for a in firing]) for got, firing in reposting.calls] == [(1, [held.id]), (0, [held.id])]
    assert len(plain.calls) == 1


def test_a_condition_of_an_org_that_could_not_be_polled_is_neither_resolved_nor_dropped() -> None:
    reposting, plain = RecordingSink("am", resends_firing=True), RecordingSink("chat")
    held = key_alert()
    with Dispatcher([Route(reposting, AlertFilter()), Route(plain, AlertFilter())]) as dispatcher:
        planner = alerting(dispatcher)
        run(planner, [held])
        planner.run([], reason=lambda a: "fixed", unknown_orgs={held.org or ""}, now=NOW)
    assert len(plain.calls) == 1, "no resolve: the org was not seen, so nothing is known to be fixed"
    assert [a.id for a in reposting.calls[-1][1]] == [held.id], "Alertmanager keeps it firing"


def test_vault_refusing_the_state_keeps_dedup_in_the_process() -> None:
    class Refusing:
        def load(self) -> tuple[DeliveryState, int]:
            raise VaultPermissionError("permission denied", status=403)

        def save(self, state: DeliveryState, version: int) -> int:
            raise VaultPermissionError("permission denied", status=403)

    plain = RecordingSink("chat")
    with Dispatcher([Route(plain, AlertFilter())]) as dispatcher:
        planner = Alerting(dispatcher, Refusing(), holder="t", renotify_interval=timedelta(hours=24), labels={})
        with capture_logs() as logs:
            run(planner, [key_alert()])
            run(planner, [key_alert()])
    assert len(plain.calls) == 1, "the second cycle remembers what the first sent"
    assert any(log["event"] == "alerts.state_unavailable" for log in logs)


# --- failures never spread ------------------------------------------------------------------------------------


def test_a_500_is_retried_a_bounded_number_of_times_and_reported(
    receivers: Callable[..., Receiver], fake_clock: FakeClock[float]
) -> None:
    failing, healthy = receivers(Reply(500, "upstream exploded")), receivers()
    reports = Reports()
    sleeps_on_fake_clock = HttpOptions(retry=FAST_RETRY, sleep=fake_clock.sleep)
    routes = [
        Route(WebhookSink(url=failing.url + "/h", name="broken", http=sleeps_on_fake_clock), ACCEPT_ALL),
        Route(WebhookSink(url=healthy.url + "/h", name="fine", http=FAST_HTTP), ACCEPT_ALL),
    ]
    with Dispatcher(routes, on_delivery=reports) as dispatcher, capture_logs() as logs:
        deliveries = dispatcher.dispatch(to_every_sink(dispatcher, [trigger(key_alert())], []), NOW)

    assert len(failing.requests) == 3 and len(healthy.requests) == 1
    assert len(fake_clock.sleeps) == 2  # backoff between the three attempts
    assert sorted(reports.calls) == [("broken", False), ("fine", True)]
    broken = next(d for d in deliveries if d.sink == "broken")
    assert broken.error is not None and "answered 500: upstream exploded (after 3 attempts)" in broken.error
    assert [log["attempt"] for log in logs if log["event"] == "alert.retry"] == [1, 2]
    [failed] = [log for log in logs if log["event"] == "alert.delivery_failed"]
    assert failed["sink"] == "broken" and failed["log_level"] == "warning"


def test_connection_refused_is_retried_then_reported(unused_port: int, fake_clock: FakeClock[float]) -> None:
    sink = WebhookSink(
        url=f"http://127.0.0.1:{unused_port}/h", http=HttpOptions(retry=FAST_RETRY, sleep=fake_clock.sleep)
    )
    with pytest.raises(SinkUnavailableError) as raised:
        sink.send([trigger(key_alert())], [], now=NOW)
    sink.close()
    assert raised.value.attempts == 3 and "cannot reach" in str(raised.value)


def test_a_hanging_sink_does_not_block_the_others(receivers: Callable[..., Receiver]) -> None:
    hung, slack_rx, hook_rx = receivers(Reply(hang=30)), receivers(), receivers()
    others_arrived_while_hung: list[bool] = []
    # Checked while the hung request is held open: with sinks run one after another, the others would still wait.
    hung.on_request = lambda _: others_arrived_while_hung.append(
        len(slack_rx.wait_for(1, timeout=0.5)) == 1 and len(hook_rx.wait_for(1, timeout=0.5)) == 1
    )
    reports = Reports()
    routes = [
        Route(
            WebhookSink(url=hung.url + "/h", name="hung", http=HttpOptions(timeout=1.0, retry=FAST_RETRY)),
            ACCEPT_ALL,
            timeout=1.0,
        ),
        Route(SlackSink(webhook_url=slack_rx.url + SLACK_PATH), ACCEPT_ALL),
        Route(WebhookSink(url=hook_rx.url + WEBHOOK_PATH), ACCEPT_ALL),
    ]
    with Dispatcher(routes, on_delivery=reports, grace=0.5) as dispatcher:
        started = time.monotonic()
        deliveries = dispatcher.dispatch(to_every_sink(dispatcher, [trigger(key_alert())], []), NOW)
        elapsed = time.monotonic() - started

    assert others_arrived_while_hung == [True]
    assert elapsed < 10  # bounded by the hung sink's timeout (+ grace), not by the 30 s the receiver holds on
    assert sorted(reports.calls) == [("hung", False), ("slack", True), ("webhook", True)]
    hung_delivery = next(d for d in deliveries if d.sink == "hung")
    assert hung_delivery.error == f"hung: {hung.url}/*** did not answer within 1.0s"
    assert len(hung.requests) == 1  # the budget was spent on the one attempt: no retry past the timeout


def test_a_sink_ignoring_its_timeout_is_abandoned_then_skipped_while_busy() -> None:
    stuck, fine = RecordingSink("stuck"), RecordingSink("fine")
    stuck.block = threading.Event()
    reports = Reports()
    routes = [Route(stuck, ACCEPT_ALL, timeout=0.2), Route(fine, ACCEPT_ALL)]
    with capture_logs() as logs, Dispatcher(routes, on_delivery=reports, grace=0.1) as dispatcher:
        first = dispatcher.dispatch(to_every_sink(dispatcher, [trigger(key_alert())], []), NOW)
        second = dispatcher.dispatch(to_every_sink(dispatcher, [trigger(key_alert())], []), NOW)
        stuck.block.set()
        deadline = time.monotonic() + 5
        while not any(log["event"] == "alert.delivery_late" for log in logs) and time.monotonic() < deadline:
            time.sleep(0.01)

    assert [(d.sink, d.ok) for d in first] == [("stuck", False), ("fine", True)]
    assert first[0].error == "stuck: no result within its 0.2s timeout"
    assert second[0].error == "still busy with an earlier delivery that overran its timeout"
    assert len(stuck.calls) == 1 and len(fine.calls) == 2
    assert reports.calls.count(("stuck", False)) == 2
    assert [log["outcome"] for log in logs if log["event"] == "alert.delivery_late"] == ["delivered"]


def test_a_sink_raising_anything_never_raises_out_of_dispatch() -> None:
    buggy, fine = RecordingSink("buggy", error=KeyError("boom")), RecordingSink("fine")
    reports = Reports()
    with Dispatcher([Route(buggy, ACCEPT_ALL), Route(fine, ACCEPT_ALL)], on_delivery=reports) as dispatcher:
        deliveries = dispatcher.dispatch(to_every_sink(dispatcher, [trigger(key_alert())], []), NOW)
    assert [(d.sink, d.ok, d.error) for d in deliveries] == [
        ("buggy", False, "buggy: KeyError: 'boom'"),
        ("fine", True, None),
    ]
    assert reports.calls == [("buggy", False), ("fine", True)]


def test_a_failing_on_delivery_hook_does_not_break_dispatch() -> None:
    def broken_hook(sink: str, ok: bool) -> None:
        raise RuntimeError("metrics down")

    sink = RecordingSink("a")
    with Dispatcher([Route(sink, ACCEPT_ALL)], on_delivery=broken_hook) as dispatcher, capture_logs() as logs:
        [delivery] = dispatcher.dispatch(to_every_sink(dispatcher, [trigger(key_alert())], []), NOW)
    assert delivery.ok
    assert any(log["event"] == "alert.on_delivery_failed" for log in logs)


# --- Retry-After ---------------------------------------------------------------------------------------------


def _on_fake_clock(fake_clock: FakeClock[float]) -> HttpOptions:
    return HttpOptions(timeout=10, retry=FAST_RETRY, sleep=fake_clock.sleep, clock=fake_clock)


def test_429_waits_at_least_retry_after(receiver: Receiver, fake_clock: FakeClock[float]) -> None:
    receiver.script(Reply(429, "rate_limited", headers={"Retry-After": "3"}))
    sink = WebhookSink(url=receiver.url + "/h", http=_on_fake_clock(fake_clock))
    sink.send([trigger(key_alert())], [], now=NOW)
    sink.close()
    assert len(receiver.requests) == 2
    assert fake_clock.sleeps and fake_clock.sleeps[0] >= 3


def test_429_with_retry_after_beyond_the_budget_gives_up_at_once(
    receiver: Receiver, fake_clock: FakeClock[float]
) -> None:
    receiver.script(Reply(429, "", headers={"Retry-After": "60"}))
    sink = WebhookSink(url=receiver.url + "/h", http=_on_fake_clock(fake_clock))
    with pytest.raises(SinkRateLimitedError) as raised:
        sink.send([trigger(key_alert())], [], now=NOW)
    sink.close()
    assert len(receiver.requests) == 1 and fake_clock.sleeps == []
    assert raised.value.retry_after == 60
    assert "Retry-After of 60s is beyond the 10s budget" in str(raised.value)


# --- building from the config --------------------------------------------------------------------------------


def _settings(sinks: list[dict[str, object]]) -> AlertsSettings:
    return AlertsSettings.model_validate({"sinks": sinks})


class _Environment(dict[str, str]):
    """The environment the sinks' secrets are read from, noting each variable asked for."""

    def __init__(self, values: dict[str, str], asked: list[str] | None) -> None:
        super().__init__(values)
        self.asked = asked

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        if self.asked is not None:
            self.asked.append(name)
        return super().get(name, default)


def _resolver(values: dict[str, str], asked: list[str] | None = None) -> SecretResolver:
    return SecretResolver(_Environment(values, asked))


def test_build_sinks_makes_every_configured_sink_plus_the_log_sink(receivers: Callable[..., Receiver]) -> None:
    slack_rx, pd_rx, am_rx, hook_rx = receivers(), receivers(Reply(202)), receivers(), receivers()
    settings = _settings(
        [
            {"type": "slack", "webhook_url": {"env": "SLACK"}},
            {
                "type": "pagerduty",
                "routing_key": {"env": "PD"},
                "events_url": pd_rx.url + "/v2/enqueue",
                "min_severity": "critical",
            },
            {"type": "alertmanager", "url": am_rx.url},
            {
                "type": "webhook",
                "name": "audit",
                "url": {"env": "HOOK"},
                "hmac_secret": {"env": "HMAC"},
                "filters": {"managed": True},
            },
        ]
    )
    asked: list[str] = []
    values = {"SLACK": slack_rx.url + SLACK_PATH, "PD": "k" * 32, "HOOK": hook_rx.url + WEBHOOK_PATH, "HMAC": "h" * 16}
    reports = Reports()
    with build_sinks(settings, _resolver(values, asked), on_delivery=reports) as dispatcher:
        assert [sink.name for sink in dispatcher.sinks] == ["log", "slack", "pagerduty", "alertmanager", "audit"]
        run(alerting(dispatcher), [key_alert(managed=None)])

    assert asked == ["SLACK", "PD", "HOOK", "HMAC"]
    assert sorted(reports.calls) == [("alertmanager", True), ("log", True), ("slack", True)]
    assert pd_rx.requests == [] and hook_rx.requests == []  # below critical; not a managed key
    assert len(slack_rx.requests) == 1 and len(am_rx.requests) == 1


@pytest.mark.parametrize(
    ("sink", "values", "message"),
    [
        (
            {"type": "webhook", "url": {"env": "HOOK"}, "hmac_secret": {"env": "HMAC"}},
            {"HOOK": "https://h.example/x", "HMAC": "x1y2z3"},
            "alerts.sinks[0].hmac_secret: too short to sign with; use at least 16 random characters",
        ),
        (
            {"type": "slack", "webhook_url": {"env": "SLACK"}},
            {"SLACK": "hooks.example/secret-path-value"},
            "alerts.sinks[0].webhook_url: not an http(s) URL (value not shown: it may be secret)",
        ),
        (
            {"type": "alertmanager", "name": "log", "url": "http://am:9093"},
            {},
            "alerts.sinks[0].name: 'log' is the built-in log sink's; choose another",
        ),
        (
            {"type": "alertmanager", "url": "http://am:9093", "timeout": 0},
            {},
            "alerts.sinks[0].timeout: must be longer than 0",
        ),
    ],
)
def test_build_sinks_errors_name_the_field_and_never_the_secret(
    sink: dict[str, object], values: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        build_sinks(_settings([sink]), _resolver(values))
    assert raised.value.problems == [message]
    assert all(value not in str(raised.value) for value in values.values())


def test_close_closes_every_sink_and_stops_dispatch() -> None:
    a, b = RecordingSink("a"), RecordingSink("b")
    dispatcher = Dispatcher([Route(a, ACCEPT_ALL), Route(b, ACCEPT_ALL)])
    dispatcher.close()
    assert a.closed and b.closed
    with pytest.raises(RuntimeError, match="closed"):
        dispatcher.dispatch(to_every_sink(dispatcher, [trigger(key_alert())], []), NOW)


# --- the log sink --------------------------------------------------------------------------------------------


def test_every_notification_is_logged(receiver: Receiver) -> None:
    critical = key_alert(severity=Severity.CRITICAL)
    with build_sinks(AlertsSettings(), _resolver({})) as dispatcher, capture_logs() as logs:
        dispatcher.dispatch(
            to_every_sink(dispatcher, [trigger(critical), resolve(key_alert()), trigger(rotated_event())], [critical]),
            NOW,
        )
    alerts = [log for log in logs if log["event"].startswith("alert.") and log["event"] != "alert.delivered"]
    assert [(log["event"], log["log_level"], log["severity"]) for log in alerts] == [
        ("alert.trigger", "error", "critical"),
        ("alert.resolve", "info", "warning"),
        ("alert.trigger", "info", "info"),
    ]
    assert alerts[0]["summary"] == critical.summary and alerts[0]["action"] == critical.action
    assert alerts[0]["details"]["short_key"] == "lsv2_sk_3f1c..." and alerts[0]["alert_id"] == critical.id


def test_timeouts_come_from_the_settings() -> None:
    settings = _settings([{"type": "alertmanager", "url": "http://127.0.0.1:9", "timeout": "90m"}])
    with build_sinks(settings, _resolver({}), alertmanager_resolve_timeout=timedelta(hours=3)) as dispatcher:
        assert repr(dispatcher) == (
            "Dispatcher([LogSink(name='log'), AlertmanagerSink(name='alertmanager', url='http://127.0.0.1:9/api/v2/alerts')])"
        )


def test_a_sink_may_take_only_rotations_a_post_rotation_hook() -> None:
    """`filters.conditions: [rotation_succeeded]` with `min_severity: info`: a team's rollout trigger."""
    hook = sink_filter("info", SinkFilters.model_validate({"conditions": ["rotation_succeeded"]}))
    assert hook.accepts(rotated_event())
    assert not hook.accepts(key_alert(severity=Severity.CRITICAL))
    with pytest.raises(ValueError, match="rotation_succeeded"):
        SinkFilters.model_validate({"conditions": ["rotated"]})

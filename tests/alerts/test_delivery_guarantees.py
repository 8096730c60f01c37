"""At-least-once delivery per sink, across real `rotator once` runs: a sink that has a bad minute gets what it
missed on the next run, a resolve goes only to sinks that got the trigger and is repeated until acknowledged,
and Alertmanager never keeps a stale label set. Real receivers: local webhooks that fail on demand, a real
Alertmanager behind a proxy that can make it answer 503, OpenBao for the delivery state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from langsmith_sandbox.openbao import OpenBaoDevServer
from tests.support.alert_pipeline import DAY, Org, log_events, run_once, state_prefix, write_config
from tests.support.alertmanager import active_alerts
from tests.support.receivers import FlakyProxy, Receiver, Reply

pytestmark = pytest.mark.integration

DELIVERY_FAILED = 4


def webhook(name: str, env: str) -> dict[str, object]:
    return {"type": "webhook", "name": name, "url": {"env": env}, "min_severity": "info", "timeout": "2s"}


def sent(receiver: Receiver, action: str, alert_id: str) -> list[dict[str, Any]]:
    """Bodies the receiver got (whatever it answered), of ``action`` for ``alert_id``."""
    bodies = [request.json() for request in receiver.requests]
    return [b for b in bodies if b["action"] == action and b["alert"]["id"] == alert_id]


def expiry_id(org: Org) -> str:
    return f"key-expiry:acme:{org.unmanaged.id}"


def test_a_trigger_a_sink_missed_is_delivered_on_the_next_run(
    org: Org, openbao: OpenBaoDevServer, receivers: Callable[..., Receiver], tmp_path: Path
) -> None:
    down = receivers(Reply(status=503))
    config = write_config(tmp_path, org, openbao, [webhook("pager", "PAGER")], managed=False)
    env = {"PAGER": down.url}

    first = run_once(config, org, openbao, env)
    assert down.requests, "the sink was tried"
    assert first.returncode == DELIVERY_FAILED, "a CronJob must show that an alert was not delivered"
    assert any("pager" in line and "not delivered" in line for line in first.stdout.splitlines()), first.stdout

    down.default = Reply(status=200)
    down.requests.clear()
    second = run_once(config, org, openbao, env)
    assert second.returncode == 0, second.stdout + second.stderr[-2000:]
    assert len(sent(down, "trigger", expiry_id(org))) == 1, "the missed trigger is sent on the next run"

    third = run_once(config, org, openbao, env)
    assert third.returncode == 0
    assert len(sent(down, "trigger", expiry_id(org))) == 1, "once acknowledged, it is not sent again"


def test_a_resolve_goes_only_to_sinks_that_got_the_trigger_and_repeats_until_acknowledged(
    org: Org, openbao: OpenBaoDevServer, receivers: Callable[..., Receiver], tmp_path: Path
) -> None:
    healthy, flaky = receivers(), receivers(Reply(status=503))
    config = write_config(tmp_path, org, openbao, [webhook("healthy", "HEALTHY"), webhook("flaky", "FLAKY")])
    env = {"HEALTHY": healthy.url, "FLAKY": flaky.url}
    run_once(config, org, openbao, env)
    assert sent(healthy, "trigger", expiry_id(org))

    org.state.delete_key(org.unmanaged.id)
    flaky.default = Reply(status=200)
    flaky.requests.clear()
    healthy.default = Reply(status=503)
    second = run_once(config, org, openbao, env)
    assert second.returncode == DELIVERY_FAILED
    assert not sent(flaky, "resolve", expiry_id(org)), "flaky never got the trigger: nothing to resolve there"
    assert not sent(flaky, "trigger", expiry_id(org)), "the condition is gone: its trigger is not sent late"

    assert sent(healthy, "resolve", expiry_id(org)), "the resolve was tried, and refused"
    healthy.default = Reply(status=200)
    healthy.requests.clear()
    third = run_once(config, org, openbao, env)
    assert third.returncode == 0
    resolves = sent(healthy, "resolve", expiry_id(org))
    assert len(resolves) == 1, "the resolve healthy failed to take is repeated"
    assert "deleted" in resolves[0]["reason"], "a resolve says why the condition ended"
    fourth = run_once(config, org, openbao, env)
    assert fourth.returncode == 0
    assert len(sent(healthy, "resolve", expiry_id(org))) == 1, "once acknowledged, a resolve is not repeated"


def test_a_resolve_sent_while_alertmanager_is_down_is_repeated(
    org: Org, openbao: OpenBaoDevServer, alertmanager: str, tmp_path: Path
) -> None:
    with FlakyProxy(alertmanager) as proxy:
        config = write_config(tmp_path, org, openbao, [{"type": "alertmanager", "url": proxy.url}], managed=False)
        assert run_once(config, org, openbao).returncode == 0
        assert len(active_alerts(alertmanager, org.unmanaged.id)) == 1

        org.state.delete_key(org.unmanaged.id)
        proxy.down.set()
        assert run_once(config, org, openbao).returncode == DELIVERY_FAILED
        assert proxy.refused, "the resolve was tried"
        assert len(active_alerts(alertmanager, org.unmanaged.id)) == 1, "Alertmanager did not hear it"

        proxy.down.clear()
        assert run_once(config, org, openbao).returncode == 0
        assert active_alerts(alertmanager, org.unmanaged.id) == [], "the resolve is repeated once it is back"


def test_escalation_under_once_ends_the_warning_label_set(
    org: Org, openbao: OpenBaoDevServer, alertmanager: str, tmp_path: Path
) -> None:
    org.set_expiry(org.unmanaged, datetime.now(UTC) + 10 * DAY)  # warning (under 21 days), not yet critical
    config = write_config(tmp_path, org, openbao, [{"type": "alertmanager", "url": alertmanager}], managed=False)
    assert run_once(config, org, openbao).returncode == 0
    assert [a["labels"]["severity"] for a in active_alerts(alertmanager, org.unmanaged.id)] == ["warning"]

    org.set_expiry(org.unmanaged, datetime.now(UTC) + 3 * DAY)  # now critical, in a new process
    assert run_once(config, org, openbao).returncode == 0
    active = active_alerts(alertmanager, org.unmanaged.id)
    assert [a["labels"]["severity"] for a in active] == ["critical"], "the warning label set must end"


@pytest.mark.parametrize(
    ("schedule", "interval"),
    [
        ({"daemon": {"cron": "0 * * * *"}}, timedelta(hours=1)),
        (
            {
                "alerts": {
                    "alertmanager": {"expected_interval": "6h"},
                    "external_url": "https://grafana.example.com/d/rotator",
                    "labels": {"team": "platform", "env": "prod"},
                }
            },
            timedelta(hours=6),
        ),
    ],
    ids=["hourly-cron", "expected-interval"],
)
def test_alertmanager_ends_at_follows_the_schedule_in_force(
    *,
    org: Org,
    openbao: OpenBaoDevServer,
    receiver: Receiver,
    tmp_path: Path,
    schedule: dict[str, dict[str, object]],
    interval: timedelta,
) -> None:
    alerts = schedule.pop("alerts", None)
    config = write_config(
        tmp_path,
        org,
        openbao,
        [{"type": "alertmanager", "url": receiver.url}],
        alerts=alerts,
        managed=False,
        **schedule,
    )
    before = datetime.now(UTC)
    assert run_once(config, org, openbao).returncode == 0
    (posted,) = [a for r in receiver.requests for a in r.json() if a["labels"]["alert_id"] == expiry_id(org)]
    ends_at = datetime.fromisoformat(posted["endsAt"].replace("Z", "+00:00"))
    assert ends_at - before >= 3 * interval, "one or two missed runs must not resolve a firing alert"
    assert ends_at - before < 3 * interval + timedelta(minutes=5)
    if alerts is not None:  # the conventions that come with it: a source link and routing labels
        assert posted["generatorURL"] == "https://grafana.example.com/d/rotator"
        assert (posted["labels"]["team"], posted["labels"]["env"]) == ("platform", "prod")


def test_the_delivery_state_is_written_only_when_it_changed(
    org: Org, openbao: OpenBaoDevServer, receiver: Receiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path, org, openbao, [webhook("hook", "HOOK")], managed=False)
    env = {"HOOK": receiver.url}
    path = f"{state_prefix(config)}/alerts"
    run_once(config, org, openbao, env)
    written = _version(openbao, path)
    for _ in range(2):
        assert run_once(config, org, openbao, env).returncode == 0
    assert _version(openbao, path) == written, "nothing was sent, so the state did not change"
    assert len(sent(receiver, "trigger", expiry_id(org))) == 1


def test_a_cycle_reports_each_undelivered_sink_in_one_line(
    org: Org, openbao: OpenBaoDevServer, receivers: Callable[..., Receiver], tmp_path: Path
) -> None:
    down = receivers(Reply(status=500))
    config = write_config(tmp_path, org, openbao, [webhook("broken", "BROKEN")], managed=False)
    result = run_once(config, org, openbao, {"BROKEN": down.url})
    assert result.returncode == DELIVERY_FAILED
    (finished,) = log_events(result, "cycle.finished")
    assert finished["undelivered"] == {"broken": 2}  # the two keys near expiry (neither managed here)


def _version(openbao: OpenBaoDevServer, path: str) -> int:
    metadata = openbao.root_client().secrets.kv.v2.read_secret_metadata(path=path, mount_point="secret")
    return int(metadata["data"]["current_version"])


def test_alertmanager_down_with_nothing_new_is_still_undelivered(
    org: Org, openbao: OpenBaoDevServer, alertmanager: str, tmp_path: Path
) -> None:
    """Nothing changed, so there is no notification, but the re-post that keeps the alert firing failed: if that
    went unreported, the alert would quietly resolve in Alertmanager at its endsAt."""
    with FlakyProxy(alertmanager) as proxy:
        config = write_config(tmp_path, org, openbao, [{"type": "alertmanager", "url": proxy.url}], managed=False)
        assert run_once(config, org, openbao).returncode == 0
        proxy.down.set()
        quiet = run_once(config, org, openbao)
    assert quiet.returncode == DELIVERY_FAILED
    (finished,) = log_events(quiet, "cycle.finished")
    assert finished["undelivered"] == {"alertmanager": 2}  # both keys near expiry are still firing

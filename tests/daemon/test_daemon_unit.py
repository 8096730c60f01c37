"""The daemon's probes and live gauges, in process: no scheduler runs a cycle here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.bootstrap import build_services
from rotator.config import Settings
from rotator.cycle import Rotator
from rotator.daemon import Daemon
from rotator.metrics import Metrics
from tests.support.clocks import FakeClock

HOUR = 3600.0


def settings(**top: Any) -> Settings:
    org = {"name": "acme", "endpoint": "http://127.0.0.1:9", "organization_id": str(uuid.uuid4())}
    return Settings.model_validate({"orgs": [{**org, "api_key": {"env": "UNIT_ADMIN"}}], **top})


@pytest.fixture
def make_daemon() -> Iterator[Any]:
    daemons: list[Daemon] = []

    def make(config: Settings, environ: dict[str, str] | None = None) -> Daemon:
        runtime = Rotator(
            build_services(config, {"UNIT_ADMIN": "not-a-real-key", **(environ or {})}, metrics=Metrics())
        )
        daemon = Daemon(runtime, listen=("127.0.0.1", 0), clock=FakeClock(0.0))
        daemon.scheduler.start(paused=True)  # running, as in `rotator run`, but firing nothing
        daemons.append(daemon)
        return daemon

    yield make
    for daemon in daemons:
        if daemon.scheduler.running:
            daemon.scheduler.shutdown(wait=False)
        daemon.runtime.services.gate.release()


def idle_for(daemon: Daemon, seconds: float) -> None:
    """As if no cycle had run for ``seconds`` since the daemon started (its clock is a FakeClock at 0)."""
    clock = daemon.clock
    assert isinstance(clock, FakeClock)
    clock.now = seconds


def test_liveness_fails_when_no_cycle_ran_for_three_poll_intervals(make_daemon: Any) -> None:
    daemon = make_daemon(settings(poll_interval="10m", daemon={"jitter": "0"}))
    idle_for(daemon, 29 * 60)
    assert daemon.liveness().ok
    idle_for(daemon, 31 * 60)
    assert not daemon.liveness().ok


def test_liveness_on_an_hourly_cron_is_measured_in_hours_not_poll_intervals(make_daemon: Any) -> None:
    """poll_interval (15m by default) does not apply to a cron schedule: an hourly cron idle for two hours
    is healthy, and restarting the pod for it would be wrong."""
    daemon = make_daemon(settings(daemon={"cron": "0 * * * *", "jitter": "0"}))
    idle_for(daemon, 2 * HOUR)
    assert daemon.liveness().ok
    idle_for(daemon, 3.5 * HOUR)
    assert not daemon.liveness().ok


def test_liveness_on_a_weekday_cron_survives_the_weekend(make_daemon: Any) -> None:
    daemon = make_daemon(settings(daemon={"cron": "0 9 * * mon-fri", "jitter": "0"}))
    assert daemon._interval() == timedelta(days=3), "Friday 09:00 to Monday 09:00"
    idle_for(daemon, 3 * 24 * HOUR)
    assert daemon.liveness().ok


def test_liveness_fails_once_the_scheduler_stopped(make_daemon: Any) -> None:
    daemon = make_daemon(settings(poll_interval="10m"))
    assert daemon.liveness().ok
    daemon.scheduler.shutdown(wait=False)
    check = daemon.liveness()
    assert not check.ok and check.detail["scheduler_running"] is False


def test_readiness_waits_for_a_first_good_poll(make_daemon: Any) -> None:
    daemon = make_daemon(settings())
    check = daemon.readiness()
    assert not check.ok and check.detail["last_poll"] == "not yet"
    assert check.detail["lease"] == "none" and check.detail["vault"] == "not configured"


def test_lease_held_follows_the_lease_between_cycles(
    make_daemon: Any, openbao: OpenBaoDevServer, kv_prefix: str
) -> None:
    """The renewal job takes and loses the lease between cycles: the gauge says so at once, not a cycle later."""
    config = settings(
        vault={
            "address": openbao.address,
            "auth": {"method": "token", "token": {"env": "UNIT_TOKEN"}},
            "state_prefix": f"{kv_prefix}/state",
        },
        managed=[
            {"name": "chatbot", "org": "acme", "path": f"{kv_prefix}/chatbot", "adopt": {"key_id": str(uuid.uuid4())}}
        ],
        lease={"ttl": "15s"},
    )
    daemon = make_daemon(config, {"UNIT_TOKEN": openbao.root_token})
    lease = daemon.runtime.services.gate.lease
    assert lease is not None
    gauge = "langsmith_rotator_lease_held"
    assert daemon.metrics.registry.get_sample_value(gauge) == 0

    daemon._renew_lease()
    assert lease.held
    assert daemon.metrics.registry.get_sample_value(gauge) == 1
    assert daemon.readiness().detail["lease"] == "held"

    daemon.runtime.services.gate.release()
    assert daemon.metrics.registry.get_sample_value(gauge) == 0

    daemon.request_stop()
    daemon._renew_lease()
    assert not lease.held, "a stopping daemon never takes the lease back"

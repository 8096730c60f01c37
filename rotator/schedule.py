"""How long between two cycles under the schedule in force: the daemon's and the alerts' shared notion of it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from rotator.config import Settings

CRON_SAMPLE_RUNS = 32
"""Cron schedules are irregular (weekdays only, monthly): their interval is the longest gap among this many runs."""
ALERT_HOLD_INTERVALS = 3
MIN_ALERT_HOLD = timedelta(minutes=15)


def cycle_interval(settings: Settings) -> timedelta:
    """Time between two scheduled cycles: poll_interval plus jitter, or a cron schedule's longest gap."""
    daemon = settings.daemon
    if not daemon.cron:
        return settings.poll_interval + daemon.jitter
    trigger = CronTrigger.from_crontab(daemon.cron, timezone=UTC)
    fires: list[datetime] = []
    previous, moment = None, datetime.now(UTC)
    for _ in range(CRON_SAMPLE_RUNS):
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None:
            break
        fires.append(fire)
        previous, moment = fire, fire + timedelta(seconds=1)
    gaps = [later - earlier for earlier, later in itertools.pairwise(fires)]
    return max(gaps, default=settings.poll_interval) + daemon.jitter


def alert_hold_time(settings: Settings) -> timedelta:
    """How far ahead a firing alert's endsAt is set in Alertmanager: three intervals between runs (the CronJob's,
    when ``alerts.alertmanager.expected_interval`` says it), so one or two missed runs resolve nothing."""
    interval = settings.alerts.alertmanager.expected_interval or cycle_interval(settings)
    return max(ALERT_HOLD_INTERVALS * interval, MIN_ALERT_HOLD)

"""The always-on sink: every notification as a structured log line, whatever else is configured.

Events are ``alert.trigger`` and ``alert.resolve``, at level error (critical), warning or info, so a
log-based alerting stack can route on them and a person reading the logs sees what the other sinks were sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import structlog

from rotator.domain.alerts import Alert, Notification, Severity

log = structlog.get_logger("rotator.alerts")

_LEVEL = {
    Severity.CRITICAL: logging.ERROR,
    Severity.WARNING: logging.WARNING,
    Severity.INFO: logging.INFO,
}


class LogSink:
    resends_firing = False

    def __init__(self, name: str = "log") -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"LogSink(name={self.name!r})"

    def send(self, notifications: Sequence[Notification], firing: Sequence[Alert], *, now: datetime) -> None:
        for notification in notifications:
            alert = notification.alert
            resolved = notification.action == "resolve"
            log.log(
                logging.INFO if resolved else _LEVEL[alert.severity],
                f"alert.{notification.action}",
                alert_id=alert.id,
                kind=alert.kind.value,
                severity=alert.severity.value,
                repeat=notification.repeat,
                reason=notification.reason,
                summary=alert.summary,
                action=alert.action,
                org=alert.org,
                key_kind=alert.key_kind,
                managed=alert.managed,
                details=dict(alert.details),
                labels=dict(alert.labels),
            )

    def close(self) -> None:
        pass

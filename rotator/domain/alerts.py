"""Alerts, pure: which conditions hold after a cycle, and what to send given what was sent before.

A condition has a stable id (the dedup key sinks use), a severity and words a person understands at 3 a.m.
``plan_notifications`` compares the conditions holding now with the dedup state: a condition is sent when it
starts or changes severity, again at most every ``renotify_interval``, and resolved when it clears.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class AlertKind(StrEnum):
    KEY_EXPIRY = "key_expiry"  # a key is warning, critical, expired or too old
    ADMIN_KEY_EXPIRY = "admin_key_expiry"  # ... and it is the key the rotator itself uses
    ROTATION_FAILED = "rotation_failed"
    ROTATION_SUCCEEDED = "rotation_succeeded"  # an event: sent once, never resolved
    OLD_KEY_IN_USE = "old_key_in_use"  # the replaced key is still used at the end of its grace period
    ORG_UNPOLLABLE = "org_unpollable"


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    """Stable per key (or secret, or org) and condition: the dedup key."""
    kind: AlertKind
    severity: Severity
    summary: str
    """One line: which key, what is wrong."""
    action: str
    """What the rotator did or will do, and what to do by hand if it cannot."""
    details: Mapping[str, str] = field(default_factory=dict)
    """Labelled facts: org, description, short_key, workspaces, managed, expires_at, ..."""
    org: str | None = None
    key_kind: str | None = None
    managed: str | None = None

    @property
    def is_event(self) -> bool:
        """Events are sent once and never resolved; conditions last until they clear."""
        return self.kind is AlertKind.ROTATION_SUCCEEDED


@dataclass(frozen=True, slots=True)
class Notification:
    alert: Alert
    action: Literal["trigger", "resolve"]
    repeat: bool = False
    """A re-notification of a condition still holding, after ``renotify_interval``."""


@dataclass(frozen=True, slots=True)
class SentRecord:
    severity: Severity
    first_seen: datetime
    last_sent: datetime
    alert: Alert
    """As last sent: what a resolve message describes once the condition is gone."""


DedupState = Mapping[str, SentRecord]


def plan_notifications(
    current: Sequence[Alert], state: DedupState, *, now: datetime, renotify_interval: timedelta
) -> tuple[list[Notification], dict[str, SentRecord]]:
    """What to send now, and the dedup state after sending it."""
    notifications: list[Notification] = []
    new_state: dict[str, SentRecord] = {}
    for alert in current:
        sent = state.get(alert.id)
        if alert.is_event:
            notifications.append(Notification(alert, "trigger"))
            continue
        if sent is None or sent.severity is not alert.severity:
            notifications.append(Notification(alert, "trigger"))
            first_seen = sent.first_seen if sent else now
            new_state[alert.id] = SentRecord(alert.severity, first_seen, now, alert)
        elif now - sent.last_sent >= renotify_interval:
            notifications.append(Notification(alert, "trigger", repeat=True))
            new_state[alert.id] = replace(sent, last_sent=now, alert=alert)
        else:
            new_state[alert.id] = replace(sent, alert=alert)
    holding = {alert.id for alert in current}
    for alert_id, sent in state.items():
        if alert_id not in holding:
            notifications.append(Notification(sent.alert, "resolve"))
    return notifications, new_state


def state_to_document(state: DedupState) -> dict[str, Any]:
    return {
        "schema": 1,
        "alerts": {
            alert_id: {
                "severity": record.severity.value,
                "first_seen": record.first_seen.isoformat(),
                "last_sent": record.last_sent.isoformat(),
                "alert": alert_to_dict(record.alert),
            }
            for alert_id, record in state.items()
        },
    }


def state_from_document(document: Mapping[str, Any]) -> dict[str, SentRecord]:
    """A damaged record is dropped (its condition is sent again), never fatal: alerting must go on."""
    records: dict[str, SentRecord] = {}
    for alert_id, raw in dict(document.get("alerts") or {}).items():
        try:
            records[str(alert_id)] = SentRecord(
                Severity(raw["severity"]),
                datetime.fromisoformat(raw["first_seen"]),
                datetime.fromisoformat(raw["last_sent"]),
                _alert_from_dict(raw["alert"]),
            )
        except (KeyError, TypeError, ValueError):
            continue
    return records


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """The alert as JSON-able data: for the dedup state and for webhook receivers."""
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "summary": alert.summary,
        "action": alert.action,
        "details": dict(alert.details),
        "org": alert.org,
        "key_kind": alert.key_kind,
        "managed": alert.managed,
    }


def _alert_from_dict(raw: Mapping[str, Any]) -> Alert:
    return Alert(
        id=str(raw["id"]),
        kind=AlertKind(raw["kind"]),
        severity=Severity(raw["severity"]),
        summary=str(raw["summary"]),
        action=str(raw["action"]),
        details={str(k): str(v) for k, v in dict(raw.get("details") or {}).items()},
        org=raw.get("org"),
        key_kind=raw.get("key_kind"),
        managed=raw.get("managed"),
    )

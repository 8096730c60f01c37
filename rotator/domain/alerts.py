"""Alerts, pure: which conditions hold after a cycle, and what each sink should be sent given what it has
acknowledged.

A condition has a stable id (the dedup key sinks use), a severity and words a person understands at 3 a.m.
Delivery is at least once per sink: each sink has a ``SinkLedger`` of what it acknowledged. ``plan_for_sink``
sends a condition when it starts or changes severity for that sink, again at most every
``renotify_interval``, and a resolve when it clears, only to a sink that acknowledged its trigger.
``record_delivery`` changes the ledger only for what the sink acknowledged, so whatever failed is planned
again next cycle: a missed trigger is sent late, a missed resolve repeated. Events (a rotation succeeded)
wait in the ledger until acknowledged, for at most ``renotify_interval``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal


class Severity(StrEnum):
    """The three severities Alertmanager routing trees, PagerDuty and the shipped Prometheus rules share."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


RESERVED_LABELS = frozenset({"alertname", "severity", "alert_id", "org", "kind", "key_id", "managed"})
"""Labels the rotator sets on every alert, in Alertmanager and the metrics: static labels may not use them."""


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
    key_id: str | None = None
    """The LangSmith key the condition is about, if one: a stable identifier, unlike its description."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """The config's static labels (team, env, cluster), for routing trees that match on them."""

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
    previous: Alert | None = None
    """On a trigger: the alert as this sink last acknowledged it, whose labels may differ (its severity)."""
    reason: str | None = None
    """On a resolve: why the condition ended, in words (rotated, renewed, deleted)."""


@dataclass(frozen=True, slots=True)
class SentRecord:
    severity: Severity
    first_seen: datetime
    last_sent: datetime
    alert: Alert
    """As last acknowledged: what a resolve message describes once the condition is gone."""


@dataclass(frozen=True, slots=True)
class SinkLedger:
    """What one sink has acknowledged."""

    firing: Mapping[str, SentRecord] = field(default_factory=dict)
    """Conditions whose trigger it acknowledged and whose resolve it has not."""
    pending_events: Mapping[str, SentRecord] = field(default_factory=dict)
    """Events it has not acknowledged yet."""

    @property
    def empty(self) -> bool:
        return not self.firing and not self.pending_events


EMPTY_LEDGER = SinkLedger()
Reason = Callable[[Alert], str]
"""Why a condition that held before no longer does."""


def plan_for_sink(
    current: Sequence[Alert],
    ledger: SinkLedger,
    *,
    now: datetime,
    renotify_interval: timedelta,
    reason: Reason,
) -> list[Notification]:
    """What to send one sink now. ``current``: the conditions and new events holding now that this sink accepts."""
    notifications: list[Notification] = []
    holding: set[str] = set()
    for alert in current:
        holding.add(alert.id)
        if alert.is_event:
            notifications.append(Notification(alert, "trigger"))
            continue
        acked = ledger.firing.get(alert.id)
        if acked is None or acked.severity is not alert.severity:
            notifications.append(Notification(alert, "trigger", previous=acked.alert if acked else None))
        elif now - acked.last_sent >= renotify_interval:
            notifications.append(Notification(alert, "trigger", repeat=True, previous=acked.alert))
    for event_id, waiting in ledger.pending_events.items():
        if event_id not in holding and now - waiting.first_seen < renotify_interval:
            notifications.append(Notification(waiting.alert, "trigger"))
    for alert_id, acked in ledger.firing.items():
        if alert_id not in holding:
            notifications.append(Notification(acked.alert, "resolve", reason=reason(acked.alert)))
    return notifications


def record_delivery(
    ledger: SinkLedger,
    planned: Sequence[Notification],
    acknowledged: Collection[Notification],
    *,
    now: datetime,
    renotify_interval: timedelta,
) -> SinkLedger:
    """The ledger after sending ``planned``, of which the sink acknowledged ``acknowledged``."""
    firing = dict(ledger.firing)
    pending = {
        event_id: waiting
        for event_id, waiting in ledger.pending_events.items()
        if now - waiting.first_seen < renotify_interval
    }
    for notification in planned:
        alert, acked = notification.alert, notification in acknowledged
        if alert.is_event:
            if acked:
                pending.pop(alert.id, None)
            else:
                pending.setdefault(alert.id, SentRecord(alert.severity, now, now, alert))
        elif notification.action == "resolve":
            if acked:
                firing.pop(alert.id, None)
        elif acked:
            before = firing.get(alert.id)
            first_seen = before.first_seen if before else now
            firing[alert.id] = SentRecord(alert.severity, first_seen, now, alert)
    return SinkLedger(firing, pending)


@dataclass(frozen=True, slots=True)
class Claim:
    """A process sending notifications now: others leave them to it until ``until``."""

    holder: str
    until: datetime


ALL_SINKS = "*"
"""Schema 1 kept one record for all sinks: each sink starts from it until it has a ledger of its own."""


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """Every sink's ledger, and who is sending now; kept in Vault so restarts and CronJob runs pick it up."""

    ledgers: Mapping[str, SinkLedger] = field(default_factory=dict)
    claim: Claim | None = None

    def ledger(self, sink: str) -> SinkLedger:
        return self.ledgers.get(sink) or self.ledgers.get(ALL_SINKS) or EMPTY_LEDGER

    def claimed_by_other(self, holder: str, now: datetime) -> Claim | None:
        claim = self.claim
        return claim if claim is not None and claim.holder != holder and claim.until > now else None


def state_to_document(state: DeliveryState) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema": 2,
        "sinks": {
            sink: {"firing": _records_to_dict(ledger.firing), "pending_events": _records_to_dict(ledger.pending_events)}
            for sink, ledger in sorted(state.ledgers.items())
            if sink != ALL_SINKS and not ledger.empty
        },
    }
    if state.claim is not None:
        document["claim"] = {"holder": state.claim.holder, "until": state.claim.until.isoformat()}
    return document


def state_from_document(document: Mapping[str, Any]) -> DeliveryState:
    """A damaged record is dropped (its condition is sent again), never fatal: alerting must go on."""
    if document.get("schema", 1) == 1:
        return DeliveryState({ALL_SINKS: SinkLedger(_records_from_dict(document.get("alerts")))})
    ledgers = {}
    for sink, raw in dict(document.get("sinks") or {}).items():
        entry = raw if isinstance(raw, Mapping) else {}
        ledgers[str(sink)] = SinkLedger(
            _records_from_dict(entry.get("firing")), _records_from_dict(entry.get("pending_events"))
        )
    return DeliveryState(ledgers, _claim_from_dict(document.get("claim")))


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """The alert as JSON-able data: for the delivery state and for webhook receivers."""
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
        "key_id": alert.key_id,
        "labels": dict(alert.labels),
    }


def _records_to_dict(records: Mapping[str, SentRecord]) -> dict[str, Any]:
    return {
        alert_id: {
            "severity": record.severity.value,
            "first_seen": record.first_seen.isoformat(),
            "last_sent": record.last_sent.isoformat(),
            "alert": alert_to_dict(record.alert),
        }
        for alert_id, record in records.items()
    }


def _records_from_dict(raw_records: object) -> dict[str, SentRecord]:
    records: dict[str, SentRecord] = {}
    for alert_id, raw in dict(raw_records if isinstance(raw_records, Mapping) else {}).items():
        try:
            records[str(alert_id)] = SentRecord(
                _severity(raw["severity"]),
                datetime.fromisoformat(raw["first_seen"]),
                datetime.fromisoformat(raw["last_sent"]),
                _alert_from_dict(raw["alert"]),
            )
        except (KeyError, TypeError, ValueError):
            continue
    return records


def _alert_from_dict(raw: Mapping[str, Any]) -> Alert:
    return Alert(
        id=str(raw["id"]),
        kind=AlertKind(raw["kind"]),
        severity=_severity(raw["severity"]),
        summary=str(raw["summary"]),
        action=str(raw["action"]),
        details={str(k): str(v) for k, v in dict(raw.get("details") or {}).items()},
        org=raw.get("org"),
        key_kind=raw.get("key_kind"),
        managed=raw.get("managed"),
        key_id=raw.get("key_id"),
        labels={str(k): str(v) for k, v in dict(raw.get("labels") or {}).items()},
    )


def _claim_from_dict(raw: object) -> Claim | None:
    if not isinstance(raw, Mapping):
        return None
    try:
        return Claim(str(raw["holder"]), datetime.fromisoformat(raw["until"]))
    except (KeyError, TypeError, ValueError):
        return None


def _severity(value: str) -> Severity:
    """Before severities were standard, a failed rotation was "error": it is a warning now."""
    return Severity.WARNING if value == "error" else Severity(value)

"""Sample alerts and notifications for the sink tests, the secrets the tests hand the sinks, and dispatcher work."""

from __future__ import annotations

from datetime import UTC, datetime

from rotator.alerts.dispatch import Dispatcher, SinkWork
from rotator.domain.alerts import Alert, AlertKind, Notification, Severity

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

# Secrets the tests hand the sinks; none may show up anywhere but where the receiver needs it.
SLACK_PATH = "/services/T0FAKETEAM/B0FAKEHOOK/slackPathSecret0123456789"
WEBHOOK_PATH = "/hooks/webhookPathSecret9876543210"
WEBHOOK_QUERY = "token=webhookQuerySecret55555"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"  # 32 characters, like PagerDuty's
HMAC_SECRET = "hmac-secret-for-tests-0123456789"
SECRETS: tuple[str, ...] = (SLACK_PATH, "slackPathSecret0123456789", "webhookPathSecret9876543210")
SECRETS += ("webhookQuerySecret55555", ROUTING_KEY, HMAC_SECRET)


def key_alert(
    *,
    severity: Severity = Severity.WARNING,
    org: str = "prod-us",
    description: str = "chatbot prod",
    managed: str | None = "chatbot-prod",
    key_kind: str = "service_key",
    alert_id: str | None = None,
    kind: AlertKind = AlertKind.KEY_EXPIRY,
) -> Alert:
    """An alert shaped like the ones rotator.domain.conditions builds for an expiring key."""
    key_id = f"3f1c9a2e-0000-4000-8000-{abs(hash(description)) % 10**12:012d}"
    return Alert(
        id=alert_id or f"key-expiry:{org}:{key_id}",
        kind=kind,
        severity=severity,
        summary=f"LangSmith service key {description!r} (lsv2_sk_3f1c...) in org {org} expires in 5.0 days",
        action="The rotator manages this key as 'chatbot-prod' and replaces it before it expires.",
        details={
            "org": org,
            "description": description,
            "short_key": "lsv2_sk_3f1c...",
            "kind": key_kind,
            "scope": "workspace",
            "workspaces": "production, staging",
            "role": "Workspace Admin",
            "expires_at": "2026-01-20T12:00:00+00:00",
            "status": "warning",
            "managed": managed or "-",
        },
        org=org,
        key_kind=key_kind,
        managed=managed,
        key_id=key_id,
    )


def rotated_event(name: str = "chatbot-prod") -> Alert:
    return Alert(
        id=f"rotation-succeeded:{name}:new-key-id",
        kind=AlertKind.ROTATION_SUCCEEDED,
        severity=Severity.INFO,
        summary=f"managed secret {name!r} (org prod-us) rotated: a new key is in Vault",
        action="old key deleted after its grace period",
        details={"managed": name, "org": "prod-us", "key_id": "new-key-id"},
        org="prod-us",
        key_kind="service_key",
        managed=name,
    )


def trigger(alert: Alert, *, repeat: bool = False) -> Notification:
    return Notification(alert, "trigger", repeat=repeat)


def resolve(alert: Alert) -> Notification:
    return Notification(alert, "resolve")


def to_every_sink(
    dispatcher: Dispatcher, notifications: list[Notification], firing: list[Alert] | None = None
) -> dict[str, SinkWork]:
    """The same work for every sink, for tests about delivery itself (planning and filters are Alerting's)."""
    return {sink.name: SinkWork(notifications, firing or []) for sink in dispatcher.sinks}

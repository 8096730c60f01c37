"""Alertmanager's API v2: ``POST {url}/api/v2/alerts`` with a list of alerts, as Prometheus does.

Alertmanager resolves an alert by itself when its ``endsAt`` passes, so, like Prometheus, the sink re-posts
every FIRING alert each cycle with ``endsAt`` = now + ``resolve_timeout``, which the caller derives from the
schedule in force (three intervals between runs, so one or two missed runs resolve nothing). A resolve is
posted with ``endsAt`` = now, which closes the alert at once, and repeated until Alertmanager accepts it.

Alertmanager identifies an alert by its labels, so labels are stable facts only: ``alertname`` (from the kind,
e.g. ``LangSmithKeyExpiry``), ``severity``, ``alert_id``, ``org``, ``kind`` (the key kind, as in the metrics),
``key_id``, ``managed``, and the config's static labels (``alerts.labels``). Free text goes in annotations:
``summary``, ``description`` (what to do), ``key_description`` (the key's own description), the alert's
details, and on a resolve ``resolved_because``. When a condition's labels change (its severity rose), the
label set Alertmanager last accepted is posted with ``endsAt`` = now, so it does not linger until its
``endsAt``; the delivery ledger remembers it across processes, so this holds for CronJob runs too.

Events (a rotation succeeded) are not sent: Alertmanager has no notion of a one-shot event, and an alert that
fires and resolves at once would only notify "resolved" noise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rotator.alerts._http import DEFAULT_HTTP, HttpOptions, JsonPoster, encode_json
from rotator.alerts._redact import url_secrets
from rotator.alerts.base import HttpSink, utc_iso
from rotator.domain.alerts import Alert, AlertKind, Notification

DEFAULT_RESOLVE_TIMEOUT = timedelta(minutes=45)
ALERTNAMES = {
    AlertKind.KEY_EXPIRY: "LangSmithKeyExpiry",
    AlertKind.ADMIN_KEY_EXPIRY: "LangSmithAdminKeyExpiry",
    AlertKind.ROTATION_FAILED: "LangSmithKeyRotationFailed",
    AlertKind.ROTATION_SUCCEEDED: "LangSmithKeyRotated",
    AlertKind.OLD_KEY_IN_USE: "LangSmithOldKeyInUse",
    AlertKind.ORG_UNPOLLABLE: "LangSmithOrgUnpollable",
}
_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")

Labels = dict[str, str]


def alertname(kind: AlertKind) -> str:
    return ALERTNAMES.get(kind) or "LangSmith" + "".join(part.title() for part in kind.value.split("_"))


def labels_for(alert: Alert) -> Labels:
    labels = {
        "alertname": alertname(alert.kind),
        "severity": alert.severity.value,
        "alert_id": alert.id,
        "org": alert.org or "",
        "kind": alert.key_kind or "",
        "key_id": alert.key_id or "",
        "managed": alert.managed or "",
    }
    merged = {**alert.labels, **labels}
    return {name: value for name, value in merged.items() if value}  # Alertmanager treats empty as absent


def annotations_for(alert: Alert, *, resolved_because: str | None = None) -> dict[str, str]:
    details = {_label_name(k): v for k, v in alert.details.items() if k not in {"summary", "description"}}
    annotations = {**details, "summary": alert.summary, "description": alert.action}
    if "description" in alert.details:
        annotations["key_description"] = alert.details["description"]
    if resolved_because:
        annotations["resolved_because"] = resolved_because
    return annotations


def postable_alert(
    alert: Alert,
    *,
    starts_at: datetime,
    ends_at: datetime,
    generator_url: str | None = None,
    resolved_because: str | None = None,
) -> dict[str, Any]:
    posted: dict[str, Any] = {
        "labels": labels_for(alert),
        "annotations": annotations_for(alert, resolved_because=resolved_because),
        "startsAt": utc_iso(starts_at),
        "endsAt": utc_iso(ends_at),
    }
    if generator_url:
        posted["generatorURL"] = generator_url
    return posted


def _label_name(name: str) -> str:
    name = _INVALID_NAME_CHARS.sub("_", name)
    return f"_{name}" if not name or name[0].isdigit() else name


def _identity(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


class AlertmanagerSink(HttpSink):
    resends_firing = True

    def __init__(
        self,
        *,
        url: str,
        name: str = "alertmanager",
        resolve_timeout: timedelta = DEFAULT_RESOLVE_TIMEOUT,
        generator_url: str | None = None,
        http: HttpOptions = DEFAULT_HTTP,
    ) -> None:
        if resolve_timeout <= timedelta(0):
            raise ValueError("resolve_timeout must be positive")
        self._alerts_url = f"{url.rstrip('/')}/api/v2/alerts"
        self._resolve_timeout = resolve_timeout
        self._generator_url = generator_url
        secrets = url_secrets(url, secret_path=False)
        super().__init__(JsonPoster.for_sink(name, self._alerts_url, http, secret_path=False, secrets=secrets))

    def send(self, notifications: Sequence[Notification], firing: Sequence[Alert], *, now: datetime) -> None:
        current = {_identity(labels_for(a)): a for a in firing if not a.is_event}
        body = [self._postable(alert, now, now + self._resolve_timeout) for alert in current.values()]
        ended: set[tuple[tuple[str, str], ...]] = set()
        for notification in notifications:
            if notification.alert.is_event:
                continue
            if notification.action == "resolve":
                gone, because = notification.alert, notification.reason
            elif notification.previous is not None:
                gone, because = notification.previous, f"now {notification.alert.severity.value}"
            else:
                continue
            identity = _identity(labels_for(gone))
            if identity not in current and identity not in ended:
                ended.add(identity)
                body.append(self._postable(gone, now, now, resolved_because=because))
        if body:
            self._http.post(self._alerts_url, encode_json(body), budget=self._http.budget(), expected={200})

    def _postable(
        self, alert: Alert, now: datetime, ends_at: datetime, *, resolved_because: str | None = None
    ) -> dict[str, Any]:
        # Alertmanager keeps the earliest startsAt of an alert it already holds, so "now" is right each time.
        return postable_alert(
            alert, starts_at=now, ends_at=ends_at, generator_url=self._generator_url, resolved_because=resolved_because
        )

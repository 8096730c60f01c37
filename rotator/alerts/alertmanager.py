"""Alertmanager's API v2: ``POST {url}/api/v2/alerts`` with a list of alerts, as Prometheus does.

Alertmanager resolves an alert by itself when its ``endsAt`` passes, so, like Prometheus, the sink re-posts
every FIRING alert each cycle with ``endsAt`` = now + ``resolve_timeout`` (default 45 minutes: three 15-minute
cycles, so one missed cycle does not resolve anything; make it about three times the poll interval). A resolve
is posted with ``endsAt`` = now, which closes the alert at once.

Alertmanager identifies an alert by its labels, so labels are stable facts only: ``alertname`` (from the kind,
e.g. ``LangSmithKeyExpiry``), ``severity``, ``alert_id``, ``org``, ``kind`` (the key kind, as in the metrics),
``description`` and ``managed``. Words that change each cycle (days left) go in annotations: ``summary``,
``description`` (the action), and the alert's details. When a condition's labels change (its severity rose)
or it stops firing without a resolve (a restart lost the dedup state of the other sinks), the sink posts the
label set it sent before with ``endsAt`` = now, so nothing lingers until its ``endsAt``. That memory is per
process; after a restart, a stale alert ends at its ``endsAt`` at the latest.

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
        "description": alert.details.get("description", ""),
        "managed": alert.managed or "",
    }
    return {name: value for name, value in labels.items() if value}  # Alertmanager treats empty as absent


def annotations_for(alert: Alert) -> dict[str, str]:
    annotations = {_label_name(k): v for k, v in alert.details.items() if k not in {"summary", "description"}}
    return {**annotations, "summary": alert.summary, "description": alert.action}


def postable_alert(
    alert: Alert, *, starts_at: datetime, ends_at: datetime, generator_url: str | None = None
) -> dict[str, Any]:
    posted: dict[str, Any] = {
        "labels": labels_for(alert),
        "annotations": annotations_for(alert),
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
        self._posted: dict[tuple[tuple[str, str], ...], Alert] = {}
        """Label sets posted as firing, and not yet posted as resolved."""
        secrets = url_secrets(url, secret_path=False)
        super().__init__(JsonPoster.for_sink(name, self._alerts_url, http, secret_path=False, secrets=secrets))

    def send(self, notifications: Sequence[Notification], firing: Sequence[Alert], *, now: datetime) -> None:
        current = {_identity(labels_for(a)): a for a in firing if not a.is_event}
        ending = {
            _identity(labels_for(n.alert)): n.alert
            for n in notifications
            if n.action == "resolve" and not n.alert.is_event
        }
        ending.update(self._posted)  # whatever was firing before and no longer is
        ending = {identity: alert for identity, alert in ending.items() if identity not in current}
        body = [self._postable(alert, now, now + self._resolve_timeout) for alert in current.values()]
        body += [self._postable(alert, now, now) for alert in ending.values()]
        if not body:
            return
        try:
            self._http.post(self._alerts_url, encode_json(body), budget=self._http.budget(), expected={200})
        except Exception:
            self._posted.update(current)  # the stale ones are retried next cycle
            raise
        self._posted = dict(current)

    def _postable(self, alert: Alert, now: datetime, ends_at: datetime) -> dict[str, Any]:
        # Alertmanager keeps the earliest startsAt of an alert it already holds, so "now" is right each time.
        return postable_alert(alert, starts_at=now, ends_at=ends_at, generator_url=self._generator_url)

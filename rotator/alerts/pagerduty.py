"""PagerDuty Events API v2.

Conditions go to ``/v2/enqueue`` as alert events: ``trigger`` when they start, change severity or repeat, and
``resolve`` when they clear, with the alert id as ``dedup_key`` so PagerDuty folds them into one incident. The
receiver answers 202. Only ``notifications`` are sent: PagerDuty keeps the state, so re-posting every firing
alert each cycle would only add noise to the incident log.

Events (a rotation succeeded) are not problems and must not page anyone, so they go to PagerDuty's Change
Events API (``/v2/change/enqueue``, same routing key), which PagerDuty made for exactly this ("Secret
successfully rotated" is its own example): they show on the service's timeline beside any incident.

The routing key is the secret: it is in the body PagerDuty needs, and nowhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rotator.alerts._http import DEFAULT_HTTP, Budget, HttpOptions, JsonPoster, encode_json
from rotator.alerts._redact import display_url
from rotator.alerts.base import SOURCE, HttpSink, cut, deliver_each, one_each, utc_iso
from rotator.domain.alerts import Alert, Notification

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
DEDUP_KEY_MAX = 255
SUMMARY_MAX = 1024


def dedup_key(alert: Alert) -> str:
    """The alert id; an id longer than PagerDuty's 255 characters keeps its start and gains a hash of it all."""
    if len(alert.id) <= DEDUP_KEY_MAX:
        return alert.id
    digest = hashlib.sha256(alert.id.encode("utf-8")).hexdigest()
    return f"{alert.id[: DEDUP_KEY_MAX - len(digest) - 1]}:{digest}"


def alert_event(
    notification: Notification, routing_key: str, *, now: datetime, link: str | None = None
) -> dict[str, Any]:
    """The Events API v2 body for a trigger or resolve; ``link`` (alerts.external_url) is shown on the incident."""
    alert = notification.alert
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": notification.action,
        "dedup_key": dedup_key(alert),
    }
    if notification.action == "resolve":
        return body  # PagerDuty needs only the dedup_key to resolve
    payload: dict[str, Any] = {
        "summary": cut(alert.summary, SUMMARY_MAX),
        "source": SOURCE,
        "severity": alert.severity.value,  # the domain's severities are among PagerDuty's: critical|warning|info
        "timestamp": utc_iso(now),
        "component": alert.managed or alert.details.get("description") or alert.kind.value,
        "class": alert.kind.value,
        "custom_details": _custom_details(notification),
    }
    if alert.org:
        payload["group"] = alert.org
    links = {"links": [{"href": link, "text": "LangSmith key rotator"}]} if link else {}
    return {**body, "payload": payload, "client": SOURCE, **links}


def change_event(alert: Alert, routing_key: str, *, now: datetime) -> dict[str, Any]:
    """The Change Events body for a one-shot event."""
    return {
        "routing_key": routing_key,
        "payload": {
            "summary": cut(alert.summary, SUMMARY_MAX),
            "source": SOURCE,
            "timestamp": utc_iso(now),
            "custom_details": _custom_details(Notification(alert, "trigger")),
        },
    }


def _custom_details(notification: Notification) -> dict[str, Any]:
    alert = notification.alert
    return {
        **alert.labels,
        **alert.details,
        "action": alert.action,
        "alert_id": alert.id,
        "alert_kind": alert.kind.value,
        "repeat": notification.repeat,
    }


def change_events_url(events_url: str) -> str:
    """``…/v2/enqueue`` → ``…/v2/change/enqueue``."""
    base, found, _ = events_url.rstrip("/").rpartition("/v2/enqueue")
    if not found:
        raise ValueError("events_url must end in /v2/enqueue, or give change_events_url")
    return f"{base}/v2/change/enqueue"


class PagerDutySink(HttpSink):
    def __init__(
        self,
        *,
        routing_key: str,
        name: str = "pagerduty",
        events_url: str = EVENTS_URL,
        change_url: str | None = None,
        link: str | None = None,
        http: HttpOptions = DEFAULT_HTTP,
    ) -> None:
        self._routing_key = routing_key
        self._link = link
        self._events_url = events_url
        self._change_url = change_url or change_events_url(events_url)
        self._change_display = display_url(self._change_url, secret_path=False)
        super().__init__(JsonPoster.for_sink(name, events_url, http, secret_path=False, secrets=[routing_key]))

    def send(self, notifications: Sequence[Notification], firing: Sequence[Alert], *, now: datetime) -> None:
        budget = self._http.budget()
        # An event is never resolved: a resolve for one has nothing to close.
        wanted = [n for n in notifications if not (n.alert.is_event and n.action == "resolve")]
        deliver_each(one_each(wanted), lambda n: self._post(n, now, budget))

    def _post(self, notification: Notification, now: datetime, budget: Budget) -> None:
        if notification.alert.is_event:
            body = change_event(notification.alert, self._routing_key, now=now)
            self._http.post(
                self._change_url, encode_json(body), budget=budget, expected={202}, display_url=self._change_display
            )
        else:
            body = alert_event(notification, self._routing_key, now=now, link=self._link)
            self._http.post(self._events_url, encode_json(body), budget=budget, expected={202})

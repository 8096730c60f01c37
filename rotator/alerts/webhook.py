"""A generic JSON webhook, one POST per notification, optionally signed.

Body (``version`` "1")::

    {"version": "1", "action": "trigger" | "resolve", "repeat": false,
     "reason": null | "deleted: LangSmith no longer lists the key",   # on a resolve: why it ended
     "alert": {"id", "kind", "severity", "summary", "action", "details", "org", "key_kind", "managed",
               "key_id", "labels"},
     "sent_at": "2026-01-15T12:00:00.000Z"}

A receiver may get a notification twice (delivery is at least once: one it did not acknowledge, or whose
answer was lost, is sent again next cycle); ``alert.id`` with ``action`` is the key to deduplicate on.

With ``hmac_secret``, the header ``X-Rotator-Signature-256: sha256=<hex>`` carries the HMAC-SHA256 of the raw
body (as GitHub signs its webhooks). Receivers should compare it in constant time and may reject a stale
``sent_at``, which the signature covers. Any 2xx is success. The URL may carry a token, so its path and query
are masked in every message and log.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rotator.alerts._http import DEFAULT_HTTP, Budget, HttpOptions, JsonPoster, encode_json
from rotator.alerts.base import HttpSink, deliver_each, one_each, utc_iso
from rotator.domain.alerts import Alert, Notification, alert_to_dict

VERSION = "1"
SIGNATURE_HEADER = "X-Rotator-Signature-256"


def webhook_body(notification: Notification, *, now: datetime) -> dict[str, Any]:
    return {
        "version": VERSION,
        "action": notification.action,
        "repeat": notification.repeat,
        "reason": notification.reason,
        "alert": alert_to_dict(notification.alert),
        "sent_at": utc_iso(now),
    }


def signature(secret: str, body: bytes) -> str:
    """The header value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookSink(HttpSink):
    def __init__(
        self,
        *,
        url: str,
        name: str = "webhook",
        hmac_secret: str | None = None,
        http: HttpOptions = DEFAULT_HTTP,
    ) -> None:
        self._url = url
        self._hmac_secret = hmac_secret
        super().__init__(JsonPoster.for_sink(name, url, http, secret_path=True, secrets=[hmac_secret or ""]))

    def __repr__(self) -> str:
        signed = "signed" if self._hmac_secret else "unsigned"
        return f"WebhookSink(name={self.name!r}, url={self._http.display_url!r}, {signed})"

    def send(self, notifications: Sequence[Notification], firing: Sequence[Alert], *, now: datetime) -> None:
        budget = self._http.budget()
        deliver_each(one_each(notifications), lambda n: self._post(n, now, budget))

    def _post(self, notification: Notification, now: datetime, budget: Budget) -> None:
        content = encode_json(webhook_body(notification, now=now))
        headers = {SIGNATURE_HEADER: signature(self._hmac_secret, content)} if self._hmac_secret else None
        self._http.post(self._url, content, budget=budget, headers=headers)

"""Slack incoming webhooks: one message per notification, at most one message per ``min_interval``.

A message is ``{"text": fallback, "blocks": [...]}``: a header (severity and summary), a section with the
summary and the labelled facts (org, key description, short key, workspaces, managed name, expiry), the
action text, and a context line with the alert id. Resolves say RESOLVED. Values are escaped for Slack's
mrkdwn, so a key described as ``<!channel>`` cannot ping anyone.

Slack allows about one message per second per webhook, with short bursts. A send therefore posts at most
``max_messages``: past that, the least urgent notifications are folded into one digest message, so a first
run that finds 40 expiring keys neither floods the channel nor overruns the sink's timeout. The webhook URL's
path is the secret: it is masked in every message and log. Like every sink, one ``send`` at a time (the
dispatcher never runs a sink twice at once): the pacing state is not locked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rotator.alerts._http import DEFAULT_HTTP, Budget, HttpOptions, JsonPoster, encode_json
from rotator.alerts.base import SOURCE, HttpSink, cut, deliver_each, urgency
from rotator.alerts.errors import SinkTimeoutError
from rotator.domain.alerts import Alert, Notification, Severity

_EMOJI = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.WARNING: ":warning:",
    Severity.INFO: ":information_source:",
}
_RESOLVED_EMOJI = ":white_check_mark:"
# (title, details key): the facts a person needs to find the key, in the order they read them.
_FIELDS = (
    ("Org", "org"),
    ("Key", "description"),
    ("Short key", "short_key"),
    ("Kind", "kind"),
    ("Workspaces", "workspaces"),
    ("Managed as", "managed"),
    ("Expires", "expires_at"),
    ("Error", "error"),
)
# Slack's limits: header text 150, section text 3000, field text 2000, 10 fields, 50 blocks per message.
_HEADER_MAX, _SECTION_MAX, _FIELD_MAX, _BLOCKS_MAX = 150, 3000, 2000, 50


def slack_messages(
    notifications: Sequence[Notification], *, max_messages: int = 5
) -> list[tuple[dict[str, Any], Sequence[Notification]]]:
    """The messages for ``notifications``, each with the notifications it carries: the most urgent first, the
    rest in one digest past ``max_messages``."""
    ordered = sorted(notifications, key=urgency)
    if len(ordered) <= max_messages:
        return [(slack_message(n), (n,)) for n in ordered]
    singles, rest = ordered[: max_messages - 1], ordered[max_messages - 1 :]
    return [(slack_message(n), (n,)) for n in singles] + [(slack_digest(rest), rest)]


def slack_message(notification: Notification) -> dict[str, Any]:
    alert = notification.alert
    resolved = notification.action == "resolve"
    label = "RESOLVED" if resolved else alert.severity.value.upper()
    emoji = _RESOLVED_EMOJI if resolved else _EMOJI[alert.severity]
    reminder = "Still firing: " if notification.repeat and not resolved else ""
    fields = [
        {"type": "mrkdwn", "text": cut(f"*{title}*\n{escape(value)}", _FIELD_MAX)} for title, value in _facts(alert)
    ][:10]
    summary_section: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": cut(f"*{escape(reminder + alert.summary)}*", _SECTION_MAX)},
    }
    if fields:
        summary_section["fields"] = fields
    if resolved:
        why = f" ({escape(notification.reason)})" if notification.reason else ""
        action = f"*Resolved*{why}: this condition no longer holds; nothing to do."
    else:
        action = f"*What to do*\n{escape(alert.action)}"
    return {
        "text": cut(f"[{label}] {escape(reminder + alert.summary)}", _SECTION_MAX),
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": cut(f"{emoji} {label}: {alert.summary}", _HEADER_MAX),
                    "emoji": True,
                },
            },
            summary_section,
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(action, _SECTION_MAX)}},
            _context(alert),
        ],
    }


def slack_digest(notifications: Sequence[Notification]) -> dict[str, Any]:
    """One message listing many notifications, a line each."""
    lines = [
        f"• *{'RESOLVED' if n.action == 'resolve' else n.alert.severity.value.upper()}* {escape(n.alert.summary)}"
        for n in notifications
    ]
    title = f"{len(notifications)} more LangSmith key alerts"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title}}]
    chunk = ""
    for index, full_line in enumerate(lines):
        line = cut(full_line, 500)
        if len(chunk) + len(line) + 1 > _SECTION_MAX:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
            chunk = ""
            if len(blocks) == _BLOCKS_MAX - 1:
                chunk = f"… and {len(lines) - index} more: see the rotator's `alert.trigger` log lines."
                break
        chunk = f"{chunk}\n{line}" if chunk else line
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    return {"text": title, "blocks": blocks}


def escape(text: str) -> str:
    """Slack mrkdwn control characters, per Slack's formatting guide: & < > (``<!channel>`` pings everyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _facts(alert: Alert) -> list[tuple[str, str]]:
    details = dict(alert.details)
    details.setdefault("org", alert.org or "")
    details.setdefault("managed", alert.managed or "")
    details.setdefault("kind", alert.key_kind or "")
    return [(title, details[key]) for title, key in _FIELDS if details.get(key) not in (None, "", "-")]


def _context(alert: Alert) -> dict[str, Any]:
    text = f"{SOURCE} · {alert.kind.value} · alert `{escape(alert.id)}`"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, _SECTION_MAX)}]}


class SlackSink(HttpSink):
    def __init__(
        self,
        *,
        webhook_url: str,
        name: str = "slack",
        min_interval: float = 1.0,
        max_messages: int = 5,
        http: HttpOptions = DEFAULT_HTTP,
    ) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self._url = webhook_url
        self._min_interval = min_interval
        self._max_messages = max_messages
        self._last_post: float | None = None
        super().__init__(JsonPoster.for_sink(name, webhook_url, http, secret_path=True))

    def send(self, notifications: Sequence[Notification], firing: Sequence[Alert], *, now: datetime) -> None:
        budget = self._http.budget()
        deliver_each(slack_messages(notifications, max_messages=self._max_messages), lambda m: self._post(m, budget))

    def _post(self, message: dict[str, Any], budget: Budget) -> None:
        if self._last_post is not None:
            wait = self._last_post + self._min_interval - self._http.clock()
            if wait > budget.remaining():
                raise SinkTimeoutError(
                    f"{self.name}: out of time: Slack's rate limit leaves no room for another message",
                    sink=self.name,
                )
            if wait > 0:
                self._http.sleep(wait)
        try:
            self._http.post(self._url, encode_json(message), budget=budget)
        finally:
            self._last_post = self._http.clock()

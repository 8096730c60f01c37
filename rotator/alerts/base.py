"""The port every alert sink implements, and helpers the HTTP sinks share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from rotator.alerts._http import JsonPoster
from rotator.alerts.errors import DeliveryError
from rotator.domain.alerts import Alert, Notification

SOURCE = "langsmith-key-rotator"
"""How the rotator names itself to receivers (PagerDuty ``source``, Slack footers)."""


class Sink(Protocol):
    """Somewhere alerts go. The dispatcher filters what each sink sees and runs each in its own thread."""

    @property
    def name(self) -> str:
        """Stable, used in logs and metrics."""
        ...

    @property
    def resends_firing(self) -> bool:
        """True if the sink re-posts every firing alert each cycle (Alertmanager), so it runs even when
        dedup decided nothing needs sending."""
        ...

    def send(self, notifications: Sequence[Notification], firing: Sequence[Alert], *, now: datetime) -> None:
        """Deliver ``notifications`` (what dedup decided to send now: trigger, resolve or repeat); ``firing`` is
        every condition currently holding, for sinks that need them re-posted. Raises ``DeliveryError``."""
        ...

    def close(self) -> None:
        """Release the sink's HTTP client."""
        ...


class HttpSink:
    """What every HTTP sink shares: it is named as its poster, shows the poster's masked URL, and closes it."""

    resends_firing = False

    def __init__(self, poster: JsonPoster) -> None:
        self.name = poster.sink
        self._http = poster

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, url={self._http.display_url!r})"

    def close(self) -> None:
        self._http.close()


T = TypeVar("T")


def deliver_each(items: Sequence[tuple[T, Sequence[Notification]]], deliver: Callable[[T], None]) -> None:
    """Deliver every item (each carrying some notifications) even when some fail; then raise the first failure,
    counting the others, with the notifications of the items that did go through as ``acknowledged``."""
    failures: list[DeliveryError] = []
    acknowledged: list[Notification] = []
    for item, carried in items:
        try:
            deliver(item)
        except DeliveryError as error:
            failures.append(error)
        else:
            acknowledged.extend(carried)
    if failures:
        first = failures[0]
        if len(items) > 1:
            first.message = f"{first.message} [{len(failures)} of {len(items)} messages failed]"
        first.acknowledged = tuple(acknowledged)
        raise first


def one_each(notifications: Sequence[Notification]) -> list[tuple[Notification, Sequence[Notification]]]:
    """For sinks that send one message per notification."""
    return [(notification, (notification,)) for notification in notifications]


def cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def utc_iso(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as Alertmanager, PagerDuty and most receivers print it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def urgency(notification: Notification) -> tuple[int, int]:
    """Sort key: triggers before resolves, then the most severe first."""
    resolve = notification.action == "resolve"
    return (1 if resolve else 0, -notification.alert.severity.rank)

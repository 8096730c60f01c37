"""Typed delivery errors, so the dispatcher and callers never parse strings.

Every message is built by this package from parts it controls and passed through the sink's scrubber: it names
the sink, a masked URL and the HTTP status, never a webhook URL's secret path, a routing key or an HMAC secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from rotator.domain.alerts import Notification


class DeliveryError(Exception):
    """A sink could not deliver; ``str()`` is safe to log."""

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        sink: str,
        status: int | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sink = sink
        self.status = status
        """The HTTP status of the last answer, if there was one."""
        self.retry_after = retry_after
        """Seconds the receiver asked us to wait (``Retry-After``), if it said."""
        self.attempts = attempts
        self.acknowledged: Sequence[Notification] = ()
        """Notifications of the same send that the receiver did accept before this failure."""

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, sink={self.sink!r}, status={self.status!r})"


class SinkRejectedError(DeliveryError):
    """A 4xx other than 408/429: the payload or the sink's configuration is wrong; retrying will not help."""


class SinkUnavailableError(DeliveryError):
    """A 5xx, 408, a connection failure or no answer in time: worth retrying."""

    retryable = True


class SinkRateLimitedError(DeliveryError):
    """A 429: retried after ``Retry-After`` when the sink's time budget allows."""

    retryable = True


class SinkTimeoutError(SinkUnavailableError):
    """The sink's time budget ran out before the delivery finished."""

"""One JSON POST with bounded retries inside the sink's time budget.

Retried (by the shared loop of ``rotator.retry``): 5xx, 408, 429 and transport failures (connection refused,
reset, timeout), with exponential backoff and full jitter. A ``Retry-After`` is a floor on the wait; when it, or
any wait, would overrun the budget the poster gives up at once with the receiver's error. Each attempt's timeout
is what is left of the budget, so a receiver that never answers costs the sink its budget and no more.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

from rotator import __version__
from rotator.alerts._redact import Scrubber, display_url, url_secrets
from rotator.alerts.errors import (
    DeliveryError,
    SinkRateLimitedError,
    SinkRejectedError,
    SinkTimeoutError,
    SinkUnavailableError,
)
from rotator.observability import safe_text
from rotator.retry import Clock, RetryPolicy, Sleep, parse_retry_after, retrying
from rotator.tls import tls_context

log = structlog.get_logger(__name__)

USER_AGENT = f"langsmith-key-rotator/{__version__}"
_EXCERPT = 200
_MIN_ATTEMPT_SECONDS = 0.05


DEFAULT_RETRY = RetryPolicy(max_attempts=4, max_total_seconds=math.inf, base_delay=0.5, max_delay=5.0)
"""A sink's time budget is ``HttpOptions.timeout``, so its policy sets no budget of its own."""


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """How a sink talks HTTP: its time budget per ``send`` (seconds), its retries, extra headers (auth, tenant),
    the CA bundle to trust, and (for tests) its clock and transport."""

    timeout: float = 10.0
    retry: RetryPolicy = DEFAULT_RETRY
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    transport: httpx.BaseTransport | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    ca_file: str | None = None
    """A PEM bundle to verify the receiver with; default: the system's CAs."""

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")


DEFAULT_HTTP = HttpOptions()


class Budget:
    """The time one ``send`` may take, on the poster's clock."""

    __slots__ = ("_clock", "deadline", "seconds")

    def __init__(self, seconds: float, clock: Clock) -> None:
        self._clock = clock
        self.seconds = seconds
        self.deadline = clock() + seconds

    def remaining(self) -> float:
        return self.deadline - self._clock()


def encode_json(body: object) -> bytes:
    """The exact bytes sent (and signed): compact, UTF-8."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class JsonPoster:
    """A sink's own httpx client, its retry policy, and the scrubber that keeps its secrets out of errors."""

    def __init__(self, *, sink: str, display_url: str, scrub: Scrubber, http: HttpOptions) -> None:
        self.sink = sink
        self.display_url = display_url
        self.scrub = scrub
        self._options = http
        self._client = httpx.Client(
            timeout=http.timeout,
            transport=http.transport,
            verify=tls_context(http.ca_file),
            follow_redirects=False,
            headers={**http.headers, "User-Agent": USER_AGENT, "Content-Type": "application/json"},
        )

    @classmethod
    def for_sink(
        cls, sink: str, url: str, http: HttpOptions, *, secret_path: bool, secrets: Iterable[str] = ()
    ) -> JsonPoster:
        """The poster of the sink ``sink`` posting to ``url``: shown masked, with the URL's secrets and ``secrets``
        scrubbed from every error. ``secret_path`` says whether the URL's path is itself a secret."""
        return cls(
            sink=sink,
            display_url=display_url(url, secret_path=secret_path),
            scrub=Scrubber([*url_secrets(url, secret_path=secret_path), *secrets]),
            http=http,
        )

    def budget(self) -> Budget:
        return Budget(self._options.timeout, self._options.clock)

    def sleep(self, seconds: float) -> None:
        self._options.sleep(seconds)

    def clock(self) -> float:
        return self._options.clock()

    def close(self) -> None:
        self._client.close()

    def post(
        self,
        url: str,
        content: bytes,
        *,
        budget: Budget,
        expected: Collection[int] = range(200, 300),
        headers: Mapping[str, str] | None = None,
        display_url: str | None = None,
    ) -> httpx.Response:
        """POST ``content`` until a status in ``expected``; raise a ``DeliveryError`` when retries run out."""
        shown = display_url or self.display_url
        attempts = 0

        def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            return self._attempt(url, content, budget=budget, expected=expected, headers=headers, shown=shown)

        controller = retrying(
            self._options.retry,
            retry_on=DeliveryError,
            retryable=lambda error: error.retryable,
            retry_after=lambda error: error.retry_after,
            on_retry=self._log_retry,
            sleep=self._options.sleep,
            clock=self._options.clock,
            deadline=budget.deadline,
            reserve=_MIN_ATTEMPT_SECONDS,
        )
        try:
            return controller(attempt)
        except DeliveryError as error:
            error.attempts = attempts
            if attempts > 1:
                error.message += f" (after {attempts} attempts)"
            if isinstance(error, SinkRateLimitedError) and (error.retry_after or 0) > max(budget.remaining(), 0):
                error.message += f"; its Retry-After of {error.retry_after:g}s is beyond the {budget.seconds:g}s budget"
            raise

    def _attempt(
        self,
        url: str,
        content: bytes,
        *,
        budget: Budget,
        expected: Collection[int],
        headers: Mapping[str, str] | None,
        shown: str,
    ) -> httpx.Response:
        left = budget.remaining()
        if left < _MIN_ATTEMPT_SECONDS:
            raise SinkTimeoutError(f"{self.sink}: no time left to POST to {shown}", sink=self.sink)
        try:
            response = self._client.post(url, content=content, headers=headers, timeout=left)
        except httpx.TimeoutException:
            raise SinkUnavailableError(
                f"{self.sink}: {shown} did not answer within {left:.1f}s", sink=self.sink
            ) from None
        except httpx.TransportError as error:
            raise SinkUnavailableError(
                f"{self.sink}: cannot reach {shown}: {type(error).__name__}: {self.scrub(str(error))}", sink=self.sink
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise SinkRejectedError(
                f"{self.sink}: cannot POST to {shown}: {type(error).__name__}", sink=self.sink
            ) from None
        status = response.status_code
        if status in expected:
            return response
        excerpt = safe_text(self.scrub(response.text), limit=_EXCERPT, one_line=True)
        message = f"{self.sink}: {shown} answered {status}" + (f": {excerpt}" if excerpt else "")
        context: dict[str, Any] = {"sink": self.sink, "status": status}
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"), now=datetime.now(UTC))
            raise SinkRateLimitedError(message, retry_after=retry_after, **context)
        if status >= 500 or status == 408:
            raise SinkUnavailableError(message, **context)
        raise SinkRejectedError(message, **context)

    def _log_retry(self, error: DeliveryError, attempt: int, wait: float) -> None:
        log.info(
            "alert.retry",
            sink=self.sink,
            status=error.status,
            error=type(error).__name__,
            attempt=attempt,
            wait_s=round(wait, 3),
        )

"""One JSON POST with bounded retries inside the sink's time budget.

Retried: 5xx, 408, 429 and transport failures (connection refused, reset, timeout), with exponential backoff
and full jitter. A ``Retry-After`` is a floor on the wait; when it, or any wait, would overrun the budget the
poster gives up at once with the receiver's error. Each attempt's timeout is what is left of the budget, so a
receiver that never answers costs the sink its budget and no more.
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
import tenacity

from rotator import __version__
from rotator.alerts._redact import Scrubber, display_url, url_secrets
from rotator.alerts.errors import (
    DeliveryError,
    SinkRateLimitedError,
    SinkRejectedError,
    SinkTimeoutError,
    SinkUnavailableError,
)
from rotator.langsmith.errors import parse_retry_after

log = structlog.get_logger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]
USER_AGENT = f"langsmith-key-rotator/{__version__}"
_EXCERPT = 200
_MIN_ATTEMPT_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay) < 0:
            raise ValueError("base_delay and max_delay must not be negative")


DEFAULT_RETRY = RetryPolicy()


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


@functools.cache
def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    if ca_file is None:
        return httpx.create_ssl_context()
    return ssl.create_default_context(cafile=ca_file)


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
            verify=_tls_context(http.ca_file),
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
        policy = self._options.retry
        backoff = tenacity.wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay)

        def wait(state: tenacity.RetryCallState) -> float:
            return max(backoff(state), _failure(state).retry_after or 0.0)

        def stop(state: tenacity.RetryCallState) -> bool:
            # tenacity computes the wait before asking whether to stop, so ``upcoming_sleep`` is the next wait.
            left = budget.remaining() - state.upcoming_sleep
            return state.attempt_number >= policy.max_attempts or left < _MIN_ATTEMPT_SECONDS

        def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            return self._attempt(url, content, budget=budget, expected=expected, headers=headers, shown=shown)

        retrying = tenacity.Retrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception(lambda error: isinstance(error, DeliveryError) and error.retryable),
            sleep=self._options.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
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
        excerpt = self.scrub(" ".join(response.text[:_EXCERPT].split()))
        message = f"{self.sink}: {shown} answered {status}" + (f": {excerpt}" if excerpt else "")
        context: dict[str, Any] = {"sink": self.sink, "status": status}
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"), now=datetime.now(UTC))
            raise SinkRateLimitedError(message, retry_after=retry_after, **context)
        if status >= 500 or status == 408:
            raise SinkUnavailableError(message, **context)
        raise SinkRejectedError(message, **context)

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        error = _failure(state)
        log.info(
            "alert.retry",
            sink=self.sink,
            status=error.status,
            error=type(error).__name__,
            attempt=state.attempt_number,
            wait_s=round(state.upcoming_sleep, 3),
        )


def _failure(state: tenacity.RetryCallState) -> DeliveryError:
    # Only retryable DeliveryErrors are retried, so only they reach ``wait`` and ``before_sleep``.
    error = state.outcome.exception() if state.outcome else None
    assert isinstance(error, DeliveryError)
    return error

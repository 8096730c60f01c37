"""Fan notifications out to every sink at once, each with its own timeout and retries.

``dispatch`` takes each sink's own work (what its ledger and filters planned for it) and says, per sink, which
notifications it acknowledged. A sink that fails, hangs or raises never blocks the others and never raises
out of ``dispatch``: each runs in its own worker thread, and ``dispatch`` waits for each at most its timeout
(plus a little ``grace`` for the sink to report its own, more precise, error). Outcomes are logged and reported
through ``on_delivery`` (for metrics) and returned. A sink still busy with an earlier delivery that overran its
timeout is skipped and reported failed, so a black-holed receiver cannot pile up threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Self

import structlog

from rotator.alerts._redact import Scrubber
from rotator.alerts.base import Sink
from rotator.alerts.errors import DeliveryError
from rotator.alerts.routing import ACCEPT_ALL, AlertFilter
from rotator.domain.alerts import Alert, Notification

log = structlog.get_logger(__name__)

OnDelivery = Callable[[str, bool], None]
"""Called once per sink and dispatch that had something to send: (sink name, delivered)."""

LOG_SINK_NAME = "log"


@dataclass(frozen=True, slots=True)
class Route:
    """A sink, what it accepts, and how long one delivery to it may take (seconds)."""

    sink: Sink
    filter: AlertFilter = ACCEPT_ALL
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class SinkWork:
    """What one sink is to be sent now: its notifications, and (for sinks that re-post them) every firing alert."""

    notifications: Sequence[Notification] = ()
    firing: Sequence[Alert] = ()


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one sink in one dispatch."""

    sink: str
    ok: bool
    notifications: int
    firing: int
    error: str | None = None
    """Why it failed: safe to show (no secret)."""
    acknowledged: tuple[Notification, ...] = ()
    """The notifications the receiver accepted: all of them when ``ok``, maybe some when not."""

    @property
    def unacknowledged(self) -> int:
        """Notifications not taken, plus, when a re-post of what is firing failed, those alerts: unreported,
        Alertmanager would let them resolve at their endsAt."""
        return self.notifications - len(self.acknowledged) + (0 if self.ok else self.firing)


_NO_WORK = SinkWork()


@dataclass(slots=True)
class _Job:
    route: Route
    notifications: Sequence[Notification]
    firing: Sequence[Alert]
    started: float
    future: Future[None] | None = None
    skipped: str | None = field(default=None)


class Dispatcher:
    def __init__(
        self,
        routes: Sequence[Route],
        *,
        on_delivery: OnDelivery | None = None,
        grace: float = 1.0,
        secrets: Sequence[str] = (),
    ) -> None:
        names = [route.sink.name for route in routes]
        if len(set(names)) != len(names):
            raise ValueError(f"sink names must be unique: {names}")
        self._routes = list(routes)
        self._on_delivery = on_delivery
        self._grace = grace
        self._scrub = Scrubber(secrets)
        # One worker per sink, and at most one delivery in flight per sink: a hung sink holds only its own.
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self._routes)), thread_name_prefix="alert-sink")
        self._inflight: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"Dispatcher({[route.sink for route in self._routes]!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    @property
    def sinks(self) -> list[Sink]:
        return [route.sink for route in self._routes]

    @property
    def grace(self) -> float:
        """How long past a sink's timeout ``dispatch`` waits for its own error."""
        return self._grace

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    def dispatch(self, work: Mapping[str, SinkWork], now: datetime) -> list[Delivery]:
        """Send each sink its work; return one ``Delivery`` per sink that had any."""
        if self._closed:
            raise RuntimeError("the alert dispatcher is closed")
        jobs = [
            job
            for route in self._routes
            if (job := self._submit(route, work.get(route.sink.name, _NO_WORK), now)) is not None
        ]
        deliveries = [self._wait(job) for job in jobs]
        for delivery in deliveries:
            self._report(delivery)
        return deliveries

    def close(self) -> None:
        """Stop taking work and close every sink's HTTP client; does not wait for hung deliveries."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        for route in self._routes:
            try:
                route.sink.close()
            except Exception as error:  # one sink's close must not keep the others' clients open
                log.warning("alert.sink_close_failed", sink=route.sink.name, error=self._describe(error))

    def _submit(self, route: Route, work: SinkWork, now: datetime) -> _Job | None:
        sink = route.sink
        holding = work.firing if sink.resends_firing else ()
        if not work.notifications and not holding:
            return None
        job = _Job(route, work.notifications, holding, time.monotonic())
        with self._lock:
            previous = self._inflight.get(sink.name)
            if previous is not None and not previous.done():
                job.skipped = "still busy with an earlier delivery that overran its timeout"
                return job
            job.future = self._pool.submit(sink.send, job.notifications, holding, now=now)
            self._inflight[sink.name] = job.future
        return job

    def _wait(self, job: _Job) -> Delivery:
        name = job.route.sink.name

        def failed(error: str, acknowledged: Sequence[Notification] = ()) -> Delivery:
            return Delivery(name, False, len(job.notifications), len(job.firing), error, tuple(acknowledged))

        if job.future is None:
            return failed(job.skipped or "not sent")
        left = job.started + job.route.timeout + self._grace - time.monotonic()
        try:
            job.future.result(timeout=max(left, 0.0))
        except FutureTimeout:
            job.future.add_done_callback(lambda future: self._late(name, future))
            return failed(f"{name}: no result within its {job.route.timeout:g}s timeout")
        except DeliveryError as error:
            return failed(self._scrub(str(error)), error.acknowledged)
        except Exception as error:  # a bug in a sink must not stop the others or the cycle
            return failed(f"{name}: {self._describe(error)}")
        return Delivery(name, True, len(job.notifications), len(job.firing), acknowledged=tuple(job.notifications))

    def _report(self, delivery: Delivery) -> None:
        if delivery.ok:
            log.info(
                "alert.delivered", sink=delivery.sink, notifications=delivery.notifications, firing=delivery.firing
            )
        else:
            log.warning(
                "alert.delivery_failed",
                sink=delivery.sink,
                notifications=delivery.notifications,
                acknowledged=len(delivery.acknowledged),
                firing=delivery.firing,
                error=delivery.error,
            )
        if self._on_delivery is not None:
            try:
                self._on_delivery(delivery.sink, delivery.ok)
            except Exception as error:  # a metrics hook must not break alerting
                log.warning("alert.on_delivery_failed", sink=delivery.sink, error=self._describe(error))

    def _late(self, name: str, future: Future[None]) -> None:
        error = None if future.cancelled() else future.exception()
        outcome = "cancelled" if future.cancelled() else ("failed" if error else "delivered")
        log.info("alert.delivery_late", sink=name, outcome=outcome, error=self._describe(error) if error else None)

    def _describe(self, error: BaseException) -> str:
        return f"{type(error).__name__}: {self._scrub(str(error))}"

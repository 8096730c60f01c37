"""`rotator run`: the cycle on a schedule (APScheduler), the lease kept renewed, probes and metrics served,
and a clean stop on SIGTERM or SIGINT within ``daemon.shutdown_timeout``.

Stopping never interrupts a step: the stop flag is checked before each change a rotation makes, so the cycle
in flight ends at a step boundary with its journal consistent; then the lease is released and the process
exits 0. A step still in flight when the timeout is up (a LangSmith call hanging) is abandoned as a crash
would abandon it: the process exits at once, and the lease is left to lapse, so that no standby acts while
that call may still land; the journal lets the next holder finish or undo the step.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import NoReturn

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from rotator.cycle import Rotator
from rotator.http_server import Check, StatusServer
from rotator.schedule import cycle_interval

log = structlog.get_logger(__name__)

# Liveness fails when a cycle runs longer than this many poll intervals, or none started for as long.
STUCK_AFTER_INTERVALS = 3


def exit_now(code: int) -> NoReturn:
    """Exit without joining threads: a scheduler thread stuck in a network call must not hold the exit."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken stream: nothing more to say
            stream.flush()
    os._exit(code)


class Daemon:
    def __init__(
        self,
        runtime: Rotator,
        *,
        listen: tuple[str, int] | None = None,
        exit_hard: Callable[[int], NoReturn] = exit_now,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        metrics = runtime.services.metrics
        if metrics is None:
            raise ValueError("the daemon serves metrics: build its services with Metrics")
        self.metrics = metrics
        self.clock = clock
        """Monotonic seconds: how long a cycle has run, and since the last one (liveness)."""
        self._listen = listen or self.settings.daemon.listen_address
        self._stop = threading.Event()
        self._cycle_lock = threading.Lock()
        self._lease_lock = threading.Lock()
        self._started_at = clock()
        self._cycle_started: float | None = None
        self._last_cycle_finished: float | None = None
        self._last_poll_ok: bool | None = None
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.server: StatusServer | None = None
        self._exit_hard = exit_hard
        self._interval_cache = cycle_interval(self.settings)
        lease = runtime.services.gate.lease
        if lease is not None:
            # Live, not set once per cycle: the renewal job takes or loses the lease between cycles too.
            self.metrics.lease_held.set_function(lambda: 1.0 if lease.held else 0.0)

    def run(self) -> int:
        """Serve and run cycles until stopped; raises ListenError, having started nothing, if it cannot listen."""
        self.server = StatusServer(
            self._listen, registry=self.metrics.registry, liveness=self.liveness, readiness=self.readiness
        ).start()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self._schedule()
        self.scheduler.start()
        log.info("daemon.started", listen=self.server.url, schedule=self._describe_schedule())
        self._stop.wait()
        return self._shutdown()

    def request_stop(self) -> None:
        self._stop.set()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("daemon.stopping", signal=signal.Signals(signum).name)
        self._stop.set()

    def _schedule(self) -> None:
        settings, daemon = self.settings, self.settings.daemon
        trigger = (
            CronTrigger.from_crontab(daemon.cron, timezone=UTC)
            if daemon.cron
            else IntervalTrigger(
                seconds=settings.poll_interval.total_seconds(), jitter=int(daemon.jitter.total_seconds()) or None
            )
        )
        self.scheduler.add_job(
            self._cycle,
            trigger,
            id="cycle",
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(settings.poll_interval.total_seconds()),
        )
        lease = self.runtime.services.gate.lease
        if lease is not None:
            # Renewed between cycles too: a holder keeps the lease while alive; a standby takes over within a ttl.
            self.scheduler.add_job(
                self._renew_lease,
                IntervalTrigger(seconds=lease.ttl.total_seconds() / 3),
                id="lease",
                max_instances=1,
            )

    def _renew_lease(self) -> None:
        with self._lease_lock:
            lease = self.runtime.services.gate.lease
            if lease is not None and not self._stop.is_set():  # never take it back once stopping
                lease.try_acquire()

    def _cycle(self) -> None:
        if self._stop.is_set():
            return
        with self._cycle_lock:
            if self._stop.is_set():  # the stop came while this run waited for the lock
                return
            self._cycle_started = self.clock()
            try:
                result = self.runtime.run_cycle()
                self._last_poll_ok = not result.report.failed_orgs
            except Exception:  # the schedule must survive anything one cycle does
                log.exception("cycle.crashed")
                self._last_poll_ok = False
            finally:
                self._cycle_started = None
                self._last_cycle_finished = self.clock()

    def _shutdown(self) -> int:
        """Finish the step in flight, release the lease, stop serving; bounded by daemon.shutdown_timeout."""
        self.runtime.stopping.set()
        self.scheduler.shutdown(wait=False)
        timeout = self.settings.daemon.shutdown_timeout.total_seconds()
        finished = self._cycle_lock.acquire(timeout=timeout)
        if finished:
            self._cycle_lock.release()  # a run that was about to start sees the stop flag and returns
            with self._lease_lock:  # after a renewal in flight, never before it
                self.runtime.close()
        else:
            log.error(
                "daemon.shutdown_timeout",
                seconds=timeout,
                detail="a step is still in flight: exiting without it; the lease lapses on its own and the "
                "journal lets the next run finish or undo the step",
            )
        if self.server is not None:
            self.server.stop()
        log.info("daemon.stopped", clean=finished)
        if not finished:
            self._exit_hard(0)
        return 0

    def liveness(self) -> Check:
        interval = self._interval().total_seconds()
        now = self.clock()
        stuck_for = now - self._cycle_started if self._cycle_started is not None else 0.0
        idle_since = self._last_cycle_finished or self._started_at
        alive = self.scheduler.running and stuck_for < STUCK_AFTER_INTERVALS * interval
        scheduled = self._cycle_started is not None or now - idle_since < STUCK_AFTER_INTERVALS * interval
        return Check(
            alive and scheduled,
            {"scheduler_running": self.scheduler.running, "cycle_running_s": round(stuck_for, 1)},
        )

    def readiness(self) -> Check:
        vault = self.runtime.services.vault.health() if self.runtime.services.vault is not None else None
        vault_ok = vault is None or vault.ok
        poll_ok = self._last_poll_ok is True
        return Check(
            vault_ok and poll_ok,
            {
                "settings": "loaded",
                "vault": "not configured" if vault is None else ("ok" if vault.ok else vault.detail),
                "last_poll": {None: "not yet", True: "ok", False: "failed"}[self._last_poll_ok],
                "lease": self.runtime.lease_state(),
            },
        )

    def _interval(self) -> timedelta:
        return self._interval_cache

    def _describe_schedule(self) -> str:
        daemon = self.settings.daemon
        return f"cron {daemon.cron}" if daemon.cron else f"every {self.settings.poll_interval} (jitter {daemon.jitter})"

"""`rotator run`: the cycle on a schedule (APScheduler), the lease kept renewed, probes and metrics served,
and a clean stop on SIGTERM or SIGINT within ``daemon.shutdown_timeout``.

Stopping never interrupts a step: the stop flag is checked before each change a rotation makes, so the cycle
in flight ends at a step boundary with its journal consistent; then the lease is released and the process
exits 0.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from types import FrameType

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from rotator.cycle import Runtime
from rotator.http_server import Check, StatusServer

log = structlog.get_logger(__name__)

# Liveness fails when a cycle runs longer than this many poll intervals, or none started for as long.
STUCK_AFTER_INTERVALS = 3


class Daemon:
    def __init__(self, runtime: Runtime, *, listen: tuple[str, int] | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        assert runtime.metrics is not None, "the daemon serves metrics: build the Runtime with Metrics"
        self.metrics = runtime.metrics
        self._listen = listen or self.settings.daemon.listen_address
        self._stop = threading.Event()
        self._cycle_lock = threading.Lock()
        self._started_at = time.monotonic()
        self._cycle_started: float | None = None
        self._last_cycle_finished: float | None = None
        self._last_poll_ok: bool | None = None
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.server: StatusServer | None = None

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self.server = StatusServer(
            self._listen, registry=self.metrics.registry, liveness=self.liveness, readiness=self.readiness
        ).start()
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
        lease = self.runtime.lease
        if lease is not None:
            # Renewed between cycles too: a holder keeps the lease while alive; a standby takes over within a ttl.
            self.scheduler.add_job(
                lease.try_acquire, IntervalTrigger(seconds=lease.ttl.total_seconds() / 3), id="lease", max_instances=1
            )

    def _cycle(self) -> None:
        if self._stop.is_set():
            return
        with self._cycle_lock:
            self._cycle_started = time.monotonic()
            try:
                result = self.runtime.run_cycle()
                self._last_poll_ok = not result.report.failed_orgs
            except Exception:  # the schedule must survive anything one cycle does
                log.exception("cycle.crashed")
                self._last_poll_ok = False
            finally:
                self._cycle_started = None
                self._last_cycle_finished = time.monotonic()

    def _shutdown(self) -> int:
        """Finish the step in flight, release the lease, stop serving; bounded by daemon.shutdown_timeout."""
        self.runtime.stopping.set()
        self.scheduler.shutdown(wait=False)
        timeout = self.settings.daemon.shutdown_timeout.total_seconds()
        finished = self._cycle_lock.acquire(timeout=timeout)
        if not finished:
            log.error("daemon.shutdown_timeout", seconds=timeout, detail="the journal lets the next run resume")
        self.runtime.release()
        if self.server is not None:
            self.server.stop()
        log.info("daemon.stopped", clean=finished)
        return 0

    def liveness(self) -> Check:
        interval = self._interval().total_seconds()
        now = time.monotonic()
        stuck_for = now - self._cycle_started if self._cycle_started is not None else 0.0
        idle_since = self._last_cycle_finished or self._started_at
        alive = self.scheduler.running and stuck_for < STUCK_AFTER_INTERVALS * interval
        scheduled = self._cycle_started is not None or now - idle_since < STUCK_AFTER_INTERVALS * interval
        return Check(
            alive and scheduled,
            {"scheduler_running": self.scheduler.running, "cycle_running_s": round(stuck_for, 1)},
        )

    def readiness(self) -> Check:
        vault = self.runtime.vault.health() if self.runtime.vault is not None else None
        vault_ok = vault is None or vault.ok
        poll_ok = self._last_poll_ok is True
        lease = self.runtime.lease
        return Check(
            vault_ok and poll_ok,
            {
                "settings": "loaded",
                "vault": "not configured" if vault is None else ("ok" if vault.ok else vault.detail),
                "last_poll": {None: "not yet", True: "ok", False: "failed"}[self._last_poll_ok],
                "lease": "none" if lease is None else ("held" if lease.held else "standby"),
            },
        )

    def _interval(self) -> timedelta:
        return self.settings.poll_interval

    def _describe_schedule(self) -> str:
        daemon = self.settings.daemon
        return f"cron {daemon.cron}" if daemon.cron else f"every {self.settings.poll_interval} (jitter {daemon.jitter})"

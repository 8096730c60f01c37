"""Whether this process may change keys now: it is not stopping, the time is inside the rotation window, and
it holds the rotation lease (when there is one)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from rotator.domain.outcome import Result
from rotator.domain.window import RotationWindow
from rotator.observability import redact_text
from rotator.ports import StoreError
from rotator.rotation import MustStop
from rotator.state import Lease


class RotationGate:
    def __init__(self, *, lease: Lease | None, window: RotationWindow | None, now: Callable[[], datetime]) -> None:
        self.lease = lease
        self._window = window
        self._now = now
        self.stopping = threading.Event()
        """Set by signal handlers: no new change starts."""
        self._asking = threading.Lock()

    def why_not(self, *, dry_run: bool) -> tuple[Result, str] | None:
        """None when a rotation may run now; else the result to report and why. A dry run asks the same
        questions without taking the lease, and says what a real run would do."""
        would = "a real run now would skip: " if dry_run else ""
        if self.stopping.is_set():
            return Result.SKIPPED, "shutting down"
        if self._window is not None and not self._window.contains(self._now()):
            return Result.SKIPPED, f"{would}outside the rotation window: monitoring only"
        if self.lease is None:
            return None
        if dry_run:
            try:
                holder = self.lease.other_holder()
            except (StoreError, ValueError, KeyError) as error:
                return Result.FAILED, f"a real run now could not take the rotation lease: {redact_text(str(error))}"
            return None if holder is None else (Result.STANDBY, f"{would}another process ({holder}) holds the lease")
        if not self.holds():
            if self.lease.last_error is not None:
                # Not another holder: Vault is sealed, down or refusing us, which an operator must hear.
                return Result.FAILED, f"cannot take the rotation lease: {redact_text(self.lease.last_error)}"
            return Result.STANDBY, "another process holds the rotation lease: monitoring only"
        return None

    def guard(self) -> None:
        """Raises MustStop when this process may no longer change keys (the saga asks before each change)."""
        if self.stopping.is_set():
            raise MustStop("shutting down")
        if not self.holds():
            raise MustStop("the rotation lease is no longer held")

    def holds(self) -> bool:
        """Whether this process may change keys now. A lease still held needs no write (so one write per
        cycle, not per secret); one that ran out is taken again if nobody else took it, so a long `once`,
        which has no renewal job, goes on rather than stopping. Sagas running at once ask in turn, so the
        first takes the lease and the others see it held."""
        if self.lease is None:
            return True
        with self._asking:
            return self.lease.held or self.lease.try_acquire()

    def lease_state(self) -> str:
        """none, held, standby (another process holds it), or unknown (the store could not say)."""
        if self.lease is None:
            return "none"
        if self.lease.held:
            return "held"
        return "unknown" if self.lease.last_error is not None else "standby"

    def release(self) -> None:
        if self.lease is not None:
            self.lease.release()

"""The rotation lease: one actor at a time (I4), kept in the state store beside the journal, taken with
check-and-set.

The lease document names its holder and when it lapses. Whoever finds it free or lapsed writes itself in with
check-and-set, so of two racing processes exactly one wins. The holder renews it well before it lapses; a
holder that could not renew in time sees ``held`` turn false, and stops changing keys, before the lease lapses
for anyone else.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from rotator.ports import StateStore, StoreError, WriteConflict

log = structlog.get_logger(__name__)

# Stop acting this long before the lease lapses, for clock skew between replicas and the time one write takes.
SAFETY_MARGIN = timedelta(seconds=5)


@dataclass(frozen=True)
class LeaseRecord:
    holder: str
    expires_at: datetime


def new_holder_id() -> str:
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


class Lease:
    def __init__(
        self,
        store: StateStore,
        *,
        name: str,
        ttl: timedelta,
        now: Callable[[], datetime],
        holder: str | None = None,
    ) -> None:
        if ttl <= SAFETY_MARGIN * 2:
            raise ValueError(f"lease ttl must be longer than {SAFETY_MARGIN * 2}")
        self.store = store
        self.name = name
        self.ttl = ttl
        self.now = now
        self.holder = holder or new_holder_id()
        self._lock = threading.Lock()
        self._held_until: datetime | None = None
        self.last_error: str | None = None
        """Why the last attempt could not tell whether the lease is free (Vault refused or failed), else None."""
        # One read-then-write at a time: a renewal racing release() would otherwise read the released record
        # (still naming this holder) and take the lease back after it was handed over.
        self._io = threading.Lock()

    @property
    def held(self) -> bool:
        with self._lock:
            return self._held_until is not None and self.now() < self._held_until - SAFETY_MARGIN

    def try_acquire(self) -> bool:
        """Take or renew the lease; False when another live holder has it (or Vault could not say)."""
        with self._io:
            return self._try_acquire()

    def _try_acquire(self) -> bool:
        now = self.now()
        try:
            stored, version = self.store.load(self.name)
            current = _record(stored) if stored else None
            if current is not None and current.holder != self.holder and current.expires_at > now:
                self.last_error = None
                self._drop("held by another process", other=current.holder)
                return False
            expires_at = now + self.ttl
            self.store.save(
                self.name,
                {"holder": self.holder, "expires_at": expires_at.isoformat(), "acquired_at": now.isoformat()},
                version=version,
            )
        except WriteConflict:
            self.last_error = None
            self._drop("another process took it first")
            return False
        except (StoreError, ValueError, KeyError) as error:
            self.last_error = str(error) if isinstance(error, StoreError) else f"lease record is damaged: {error}"
            self._drop(f"could not renew: {type(error).__name__}")
            return False
        self.last_error = None
        with self._lock:
            was_held = self._held_until is not None
            self._held_until = expires_at
        if not was_held:
            log.info("lease.acquired", lease=self.name, holder=self.holder, expires_at=expires_at.isoformat())
        return True

    def other_holder(self) -> str | None:
        """Who else holds the lease now, read without taking it (a dry run's question); None when free or ours."""
        stored, _ = self.store.load(self.name)
        current = _record(stored) if stored else None
        if current is not None and current.holder != self.holder and current.expires_at > self.now():
            return current.holder
        return None

    def release(self) -> None:
        """Let the lease lapse now, so a standby takes over without waiting for the ttl."""
        with self._io:
            self._release()

    def _release(self) -> None:
        with self._lock:
            held, self._held_until = self._held_until is not None, None
        if not held:
            return
        try:
            stored, version = self.store.load(self.name)
            if stored is None or _record(stored).holder != self.holder:
                return
            now = self.now().isoformat()
            self.store.save(self.name, {"holder": self.holder, "expires_at": now, "released_at": now}, version=version)
            log.info("lease.released", lease=self.name, holder=self.holder)
        except (StoreError, ValueError, KeyError) as error:
            log.warning("lease.release_failed", lease=self.name, error=type(error).__name__)

    def _drop(self, reason: str, **fields: str) -> None:
        with self._lock:
            was_held, self._held_until = self._held_until is not None, None
        if was_held:
            log.warning("lease.lost", lease=self.name, holder=self.holder, reason=reason, **fields)


def _record(data: dict[str, object]) -> LeaseRecord:
    expires_at = datetime.fromisoformat(str(data["expires_at"]))
    if expires_at.tzinfo is None:
        raise ValueError("lease expires_at has no timezone")
    return LeaseRecord(str(data["holder"]), expires_at)

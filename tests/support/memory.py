"""In-memory ports for unit tests: a :class:`~rotator.ports.SecretTarget` and a :class:`~rotator.ports.StateStore`.

Both keep the ports' contracts: versions start at 1, ``cas=0`` means nothing may exist yet, a lost check-and-set
raises a :class:`~rotator.ports.WriteConflict`, and data is copied on the way in and out, so that a caller can
never alias what is stored. Failures are injected per instance:

- ``refuse_writes(n)``: the next ``n`` writes fail with ``write_applied=False``; nothing is written;
- ``lose_write_answers(n, landed=True)``: the next ``n`` writes fail with ``write_applied=None``; the write was
  applied when ``landed`` (the answer was lost on the way back), else not;
- ``fail_reads(n)``: the next ``n`` reads raise a transient :class:`~rotator.ports.StoreError`;
- ``before_write``: a hook run before each write (the write it is about to make), to line up races; the hook may
  write to the same store itself, which does not run the hook again.

"Writes" are the versioned ones (``write``, ``save``); custom metadata is written as asked, never failed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rotator.ports import JsonValue, SecretMetadata, SecretVersion, StoreError, VersionInfo, WriteConflict


class InjectedStoreError(StoreError):
    """A failure a test asked for. Its message names the operation and the place, as a real store's does."""

    def __init__(self, message: str, *, write_applied: bool | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.write_applied = write_applied
        self.transient = transient


class MemoryWriteConflict(WriteConflict):
    """The check-and-set named a version that is no longer the latest. Nothing was written."""


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """What ``before_write`` is shown: where, what, and the check-and-set version."""

    name: str
    data: Mapping[str, JsonValue]
    cas: int


WriteHook = Callable[[PendingWrite], None]


@dataclass(frozen=True, slots=True)
class _PlannedFailure:
    applied: bool | None
    """What the error says (``write_applied``)."""
    lands: bool
    """Whether the write happens all the same."""


@dataclass
class _Faults:
    writes: list[_PlannedFailure] = field(default_factory=list)
    reads: int = 0
    before_write: WriteHook | None = None
    in_hook: bool = False


class _FaultyMemory:
    """Failure injection shared by the memory target and the memory store."""

    def __init__(self) -> None:
        self._faults = _Faults()

    @property
    def before_write(self) -> WriteHook | None:
        return self._faults.before_write

    @before_write.setter
    def before_write(self, hook: WriteHook | None) -> None:
        self._faults.before_write = hook

    def refuse_writes(self, times: int = 1) -> None:
        """The next ``times`` writes are refused (``write_applied=False``): nothing is written."""
        self._faults.writes += [_PlannedFailure(applied=False, lands=False)] * times

    def lose_write_answers(self, times: int = 1, *, landed: bool = True) -> None:
        """The next ``times`` writes get no answer (``write_applied=None``); each was applied when ``landed``."""
        self._faults.writes += [_PlannedFailure(applied=None, lands=landed)] * times

    def fail_reads(self, times: int = 1) -> None:
        """The next ``times`` reads fail (a transient error, as from a sealed or unreachable store)."""
        self._faults.reads += times

    @property
    def pending_write_failures(self) -> int:
        """Planned write failures not yet used."""
        return len(self._faults.writes)

    @property
    def pending_read_failures(self) -> int:
        return self._faults.reads

    def clear_failures(self) -> None:
        """Forget every planned failure not yet used (the write hook stays)."""
        self._faults.writes.clear()
        self._faults.reads = 0

    def _check_read(self, what: str) -> None:
        if self._faults.reads > 0:
            self._faults.reads -= 1
            raise InjectedStoreError(f"injected read failure: read {what}", transient=True)

    def _before_write(self, pending: PendingWrite) -> None:
        hook = self._faults.before_write
        if hook is None or self._faults.in_hook:
            return
        self._faults.in_hook = True
        try:
            hook(pending)
        finally:
            self._faults.in_hook = False

    def _planned_failure(self) -> _PlannedFailure | None:
        if self._faults.in_hook or not self._faults.writes:
            return None  # a write the hook makes (another actor's) is not this actor's to fail
        return self._faults.writes.pop(0)


def _failure_error(failure: _PlannedFailure, what: str) -> InjectedStoreError:
    if failure.applied is False:
        return InjectedStoreError(f"injected refusal: permission denied: write {what}", write_applied=False)
    return InjectedStoreError(f"injected lost answer: no answer in time: write {what}", transient=True)


class MemorySecretTarget(_FaultyMemory):
    """One managed secret's path, kept in memory: every version, and the secret's custom metadata."""

    def __init__(self, name: str = "secret/apps/chatbot", *, now: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self._name = name
        self._now = now
        self._versions: list[tuple[dict[str, Any], datetime | None]] = []
        self._custom_metadata: dict[str, str] = {}
        self.refusal: str | None = None
        """What :meth:`write_refusal` answers (None: the write would be allowed)."""

    def __repr__(self) -> str:
        return f"MemorySecretTarget({self._name!r}, version={self.version})"

    # ── the port ────────────────────────────────────────────────────────────────────────────────────────

    @property
    def name(self) -> str:
        return self._name

    def read(self) -> SecretVersion | None:
        self._check_read(self._name)
        return self.peek()

    def write(self, data: Mapping[str, JsonValue], *, cas: int) -> int:
        if isinstance(cas, bool) or not isinstance(cas, int) or cas < 0:
            raise ValueError(f"cas must be a version number >= 0, got {cas!r}")
        self._before_write(PendingWrite(self._name, copy.deepcopy(dict(data)), cas))
        failure = self._planned_failure()
        if failure is not None and not failure.lands:
            raise _failure_error(failure, self._name)
        if cas != self.version:
            raise MemoryWriteConflict(f"check-and-set lost: {self._name} is at version {self.version}, not {cas}")
        self._versions.append((copy.deepcopy(dict(data)), self._now() if self._now else None))
        if failure is not None:
            raise _failure_error(failure, self._name)
        return self.version

    def metadata(self) -> SecretMetadata | None:
        self._check_read(f"metadata of {self._name}")
        if not self._versions:
            return None
        return SecretMetadata(
            current_version=self.version,
            oldest_version=1,
            max_versions=0,
            custom_metadata=dict(self._custom_metadata),
            versions={
                number: VersionInfo(created_at=created_at, deleted_at=None, destroyed=False)
                for number, (_, created_at) in enumerate(self._versions, start=1)
            },
        )

    def set_custom_metadata(self, metadata: Mapping[str, str]) -> None:
        self._custom_metadata = {str(key): str(value) for key, value in metadata.items()}

    def write_refusal(self, *, exists: bool) -> str | None:
        return self.refusal

    # ── for tests: look without the faults ──────────────────────────────────────────────────────────────

    @property
    def version(self) -> int:
        """The latest version; 0 when never written."""
        return len(self._versions)

    def peek(self) -> SecretVersion | None:
        """The latest version, as :meth:`read` gives it, but never failing."""
        if not self._versions:
            return None
        data, created_at = self._versions[-1]
        return SecretVersion(copy.deepcopy(data), self.version, dict(self._custom_metadata), created_at)

    def data_at(self, version: int) -> dict[str, Any]:
        """A copy of version ``version``'s data (1 is the first)."""
        return copy.deepcopy(self._versions[version - 1][0])


class MemoryStateStore(_FaultyMemory):
    """Versioned documents kept in memory, each written with check-and-set."""

    def __init__(self) -> None:
        super().__init__()
        self._documents: dict[str, list[dict[str, Any]]] = {}

    def __repr__(self) -> str:
        return f"MemoryStateStore({sorted(self._documents)})"

    # ── the port ────────────────────────────────────────────────────────────────────────────────────────

    def load(self, name: str) -> tuple[dict[str, Any] | None, int]:
        self._check_read(name)
        return self.peek(name)

    def save(self, name: str, document: Mapping[str, JsonValue], *, version: int) -> int:
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise ValueError(f"version must be a version number >= 0, got {version!r}")
        self._before_write(PendingWrite(name, copy.deepcopy(dict(document)), version))
        failure = self._planned_failure()
        if failure is not None and not failure.lands:
            raise _failure_error(failure, name)
        current = self.version(name)
        if version != current:
            raise MemoryWriteConflict(f"check-and-set lost: {name} is at version {current}, not {version}")
        self._documents.setdefault(name, []).append(copy.deepcopy(dict(document)))
        if failure is not None:
            raise _failure_error(failure, name)
        return current + 1

    # ── for tests: look without the faults ──────────────────────────────────────────────────────────────

    def version(self, name: str) -> int:
        """Document ``name``'s latest version; 0 when never written."""
        return len(self._documents.get(name, ()))

    def peek(self, name: str) -> tuple[dict[str, Any] | None, int]:
        """What :meth:`load` gives, but never failing."""
        history = self._documents.get(name)
        if not history:
            return None, 0
        return copy.deepcopy(history[-1]), len(history)

    def history(self, name: str) -> list[dict[str, Any]]:
        """Copies of every version of document ``name``, oldest first."""
        return copy.deepcopy(self._documents.get(name, []))

    def names(self) -> list[str]:
        """Every document ever written."""
        return sorted(self._documents)

"""The rotation lease on the real OpenBao, with a fake clock: one holder at a time (I4), takeover once it
lapses, release for an immediate handover, and check-and-set deciding races."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import pytest

from rotator.ports import JsonValue, SecretVersion
from rotator.state.lease import SAFETY_MARGIN, Lease
from rotator.vault.errors import VaultUnavailableError
from rotator.vault.kv import KvStore
from rotator.vault.state_store import VaultStateStore
from tests.support.clocks import FakeClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=15)
LEASE = "leases/default"


class HookedKv(KvStore):
    """The real store, with a hook run before each read or write (to line up races)."""

    def __init__(self, kv: KvStore) -> None:
        super().__init__(kv.session, kv.mount)
        self.before_read: Callable[[], None] = lambda: None
        self.before_write: Callable[[], None] = lambda: None

    def read(self, path: str, *, version: int | None = None) -> SecretVersion | None:
        self.before_read()
        return super().read(path, version=version)

    def write(self, path: str, data: Mapping[str, JsonValue], *, cas: int) -> int:
        self.before_write()
        return super().write(path, data, cas=cas)


@pytest.fixture
def clock() -> FakeClock[datetime]:
    return FakeClock(T0)


@pytest.fixture
def path(kv_prefix: str) -> str:
    return f"{kv_prefix}/{LEASE}"


@pytest.fixture
def make_lease(openbao_kv: KvStore, kv_prefix: str, clock: FakeClock[datetime]) -> Callable[..., Lease]:
    def make(holder: str, kv: KvStore | None = None) -> Lease:
        return Lease(VaultStateStore(kv or openbao_kv, kv_prefix), name=LEASE, ttl=TTL, now=clock, holder=holder)

    return make


def record(kv: KvStore, path: str) -> dict[str, str]:
    stored = kv.read(path)
    assert stored is not None
    return {k: str(v) for k, v in stored.data.items()}


def test_one_holder_at_a_time_and_renewal(
    make_lease: Callable[..., Lease], openbao_kv: KvStore, path: str, clock: FakeClock[datetime]
) -> None:
    a, b = make_lease("a"), make_lease("b")
    assert not a.held

    assert a.try_acquire()
    assert a.held
    assert record(openbao_kv, path)["holder"] == "a"
    assert not b.try_acquire()
    assert not b.held

    clock.advance(5)
    assert a.try_acquire(), "the holder renews"
    assert datetime.fromisoformat(record(openbao_kv, path)["expires_at"]) == clock.now + TTL
    clock.advance(14)  # within the renewed lease
    assert not b.try_acquire()
    assert record(openbao_kv, path)["holder"] == "a"


def test_the_holder_stops_a_safety_margin_before_its_lease_lapses_and_then_another_takes_over(
    make_lease: Callable[..., Lease], openbao_kv: KvStore, path: str, clock: FakeClock[datetime]
) -> None:
    a, b = make_lease("a"), make_lease("b")
    assert a.try_acquire()

    clock.advance((TTL - SAFETY_MARGIN).total_seconds() - 0.001)
    assert a.held
    clock.advance(0.001)
    assert not a.held, "no longer acting: a write may take a while and the clocks may differ"
    assert not b.try_acquire(), "the lease itself has not lapsed yet"

    clock.advance(SAFETY_MARGIN.total_seconds() + 0.001)
    assert b.try_acquire(), "lapsed: the standby takes over"
    assert b.held and record(openbao_kv, path)["holder"] == "b"
    assert not a.try_acquire(), "the old holder, back, finds it taken"
    assert not a.held


def test_release_hands_over_at_once(
    make_lease: Callable[..., Lease], openbao_kv: KvStore, path: str, clock: FakeClock[datetime]
) -> None:
    a, b = make_lease("a"), make_lease("b")
    assert a.try_acquire()
    version = openbao_kv.read(path).version  # type: ignore[union-attr]

    a.release()

    assert not a.held
    assert datetime.fromisoformat(record(openbao_kv, path)["expires_at"]) <= clock.now
    assert b.try_acquire(), "no need to wait for the ttl"
    a.release()  # not held: nothing written, b keeps it
    assert openbao_kv.read(path).version == version + 2  # type: ignore[union-attr]
    assert record(openbao_kv, path)["holder"] == "b"


def test_two_processes_racing_for_a_free_lease_exactly_one_wins(
    make_lease: Callable[..., Lease], openbao_kv: KvStore, path: str
) -> None:
    """Both read the same version before either writes: check-and-set lets one write through."""
    both_read = threading.Barrier(2, timeout=5)
    stores = {name: HookedKv(openbao_kv) for name in ("a", "b")}
    leases = [make_lease(name, kv) for name, kv in stores.items()]

    def meet() -> None:
        both_read.wait()

    for kv in stores.values():
        kv.before_write = meet
    results: dict[str, bool] = {}

    def take(lease: Lease) -> None:
        results[lease.holder] = lease.try_acquire()

    threads = [threading.Thread(target=take, args=(lease,)) for lease in leases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(results.values()) == [False, True], results
    winner = next(name for name, won in results.items() if won)
    assert record(openbao_kv, path)["holder"] == winner
    assert [lease.held for lease in leases] == [lease.holder == winner for lease in leases]


def test_a_renewal_and_a_cycle_renewing_at_the_same_moment_keep_the_lease(
    make_lease: Callable[..., Lease], openbao_kv: KvStore
) -> None:
    """The daemon's renewal job and a cycle's try_acquire can fire together (their schedules share multiples).
    They must not race each other's check-and-set: the loser would drop a lease its own process holds."""
    kv = HookedKv(openbao_kv)
    lease = make_lease("a", kv)
    assert lease.try_acquire()
    together = threading.Barrier(2, timeout=0.5)

    def meet() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # serialized: the other is not coming yet
            together.wait()

    kv.before_write = meet
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(lease.try_acquire())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert results == [True, True]
    assert lease.held


def test_release_after_a_renewal_in_flight_is_not_undone_by_it(
    make_lease: Callable[..., Lease], openbao_kv: KvStore, clock: FakeClock[datetime]
) -> None:
    """A renewal that started before release() must not read the released record (still naming this holder)
    and take the lease back: a stopped daemon would then sit on it for a whole ttl."""
    kv = HookedKv(openbao_kv)
    a = make_lease("a", kv)
    assert a.try_acquire()
    renewal_reading, go_on = threading.Event(), threading.Event()

    def hold_the_read() -> None:
        kv.before_read = lambda: None  # only the renewal's read waits
        renewal_reading.set()
        assert go_on.wait(timeout=5)

    kv.before_read = hold_the_read
    renewal = threading.Thread(target=a.try_acquire)
    renewal.start()
    assert renewal_reading.wait(timeout=5)
    release = threading.Thread(target=a.release)
    release.start()
    time.sleep(0.2)  # let release() run as far as it can while the renewal is held
    go_on.set()
    renewal.join(timeout=10)
    release.join(timeout=10)

    assert not a.held
    assert make_lease("b").try_acquire(), "the lease is free once release() returned"


def test_vault_refusing_a_renewal_drops_the_lease(make_lease: Callable[..., Lease], openbao_kv: KvStore) -> None:
    kv = HookedKv(openbao_kv)
    a = make_lease("a", kv)
    assert a.try_acquire()

    def down() -> None:
        raise VaultUnavailableError("connection refused", operation="write")

    kv.before_write = down
    assert not a.try_acquire()
    assert not a.held, "unsure it still holds the lease: stop changing keys"


def test_a_ttl_too_short_for_the_safety_margin_is_refused(openbao_kv: KvStore, kv_prefix: str) -> None:
    with pytest.raises(ValueError, match="ttl must be longer"):
        Lease(VaultStateStore(openbao_kv, kv_prefix), name=LEASE, ttl=SAFETY_MARGIN * 2, now=lambda: T0)

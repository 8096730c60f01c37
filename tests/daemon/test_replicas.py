"""Two daemons on one config (two replicas of a Deployment): one rotates, the other stands by (I4); when the
holder dies mid-rotation, the standby takes over after the lease's ttl and finishes the job (I1-I3)."""

from __future__ import annotations

from pathlib import Path

from langsmith_sandbox import FaultRule
from rotator.domain.rotation import Phase
from tests.support.daemon_world import MANAGED, Daemon, StartDaemon, World, assert_no_orphans, assert_vault_key_works
from tests.support.metrics import value
from tests.support.polling import wait_for
from tests.support.sandbox_vault_world import CREATE_PATH

P = "langsmith_rotator_"


def per_key_series(daemon: Daemon) -> dict[tuple[str, ...], float]:
    _, samples = daemon.scrape()
    return {
        (s.name, s.labels["description"], s.labels["managed"]): s.value
        for s in samples
        if s.name in (f"{P}key_expiry_timestamp_seconds", f"{P}key_created_timestamp_seconds")
    }


def test_two_replicas_one_lease_one_rotation(world: World, start_daemon: StartDaemon, tmp_path: Path) -> None:
    old = world.managed_key()
    before = world.key_ids()
    config = world.config_file(tmp_path, old)
    first, second = start_daemon(world, config), start_daemon(world, config)
    for daemon in (first, second):
        daemon.wait_serving()
        daemon.wait_cycles(1)

    held = {daemon.pid: value(daemon.scrape()[1], f"{P}lease_held") for daemon in (first, second)}
    assert sorted(held.values()) == [0, 1], held
    holder, standby = (first, second) if held[first.pid] == 1 else (second, first)
    assert world.lease_holder() is not None and f"/{holder.pid}/" in str(world.lease_holder())
    assert holder.get("/readyz").json()["lease"] == "held"
    assert standby.get("/readyz").status_code == 200, "a standby is ready: it monitors"
    assert standby.get("/readyz").json()["lease"] == "standby"
    assert holder.events("cycle.finished")[0]["outcomes"] == {"rotated": 1}
    assert standby.events("cycle.finished")[0]["outcomes"] == {"standby": 1}

    # One rotation: one new key, the one in Vault.
    new = assert_vault_key_works(world)
    assert world.key_ids() - before == {new.id}
    assert value(holder.scrape()[1], f"{P}rotations_total", secret=MANAGED, result="rotated") == 1
    assert not [s for s in standby.scrape()[1] if s.name == f"{P}rotations_total" and s.labels["result"] == "rotated"]

    # Both replicas are scraped: they must tell the same story about the keys, whoever holds the lease.
    standby.wait_cycles(2)  # after the rotation, so both saw the same keys
    assert per_key_series(standby) == per_key_series(holder)
    assert (f"{P}key_expiry_timestamp_seconds", "chatbot prod", MANAGED) in per_key_series(standby)


def test_the_standby_takes_over_a_rotation_the_holder_died_in(
    world: World, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    old = world.managed_key()
    before = world.key_ids()
    # The holder's create lands in LangSmith, but the answer (the secret) never reaches it.
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", latency_seconds=120, when="after", times=1))
    config = world.config_file(tmp_path, old, grace="0")
    holder = start_daemon(world, config)
    lost = wait_for(lambda: next(iter(world.key_ids() - before), None), timeout=15, what="the holder's create to land")
    standby = start_daemon(world, config)
    standby.wait_serving()
    [cycle] = standby.wait_cycles(1)
    assert cycle["outcomes"] == {"standby": 1}

    holder.kill()
    journal = world.journal().rotation
    assert journal is not None and journal.phase is Phase.INTENT

    # Within a ttl (15s) plus a poll interval (10s), the standby resumes: deletes the key the holder never
    # saw the secret of, rotates afresh, and (grace 0) deletes the old key.
    wait_for(
        lambda: world.journal().rotation is None and world.stored().data["key_id"] not in (old.id, lost),
        timeout=40,
        what="the standby to finish the rotation",
        every=0.5,
    )
    new = assert_vault_key_works(world)
    assert world.key(lost).deleted_at is not None, "the holder's unstored key is not left behind"
    assert_no_orphans(world, before)
    old_key = world.key(old.id)
    assert old_key.deleted_at is not None, "grace 0: the old key goes once the new one is in Vault"
    stored = world.stored()
    assert stored.custom_metadata["previous_key_id"] == old.id
    assert world.key_ids() - before == {lost, new.id}
    assert f"/{standby.pid}/" in str(world.lease_holder())
    assert value(standby.scrape()[1], f"{P}lease_held") == 1
    wait_for(lambda: standby.get("/readyz").json()["lease"] == "held", timeout=8, what="/readyz to say held")
    assert [e["result"] for e in standby.events("rotation.outcome")][-1] == "completed"

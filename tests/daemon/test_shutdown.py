"""SIGTERM while a rotation is in flight: the daemon stops at the next step boundary, exits 0 within its
shutdown timeout, and leaves a journal the next run finishes from (I3: no orphan key)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from langsmith_sandbox import FaultRule
from rotator.domain.rotation import Phase
from tests.support.daemon_world import StartDaemon, World, assert_no_orphans, assert_vault_key_works, run_once
from tests.support.polling import wait_for
from tests.support.sandbox_vault_world import CREATE_PATH


def new_key_created(world: World, before: set[str]) -> str | None:
    fresh = world.key_ids() - before
    return next(iter(fresh)) if fresh else None


def test_sigterm_during_a_slow_create_stops_at_the_next_step_and_releases_the_lease(
    world: World, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    old = world.managed_key()
    before = world.key_ids()
    # The key is created at once; LangSmith's answer (with the secret) comes 3 s later.
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", latency_seconds=3, when="after", times=1))
    config = world.config_file(tmp_path, old, daemon={"shutdown_timeout": "10s"})
    daemon = start_daemon(world, config)

    created = wait_for(lambda: new_key_created(world, before), timeout=15, what="the create to reach LangSmith")
    assert world.journal().rotation is not None and world.journal().rotation.phase is Phase.INTENT  # type: ignore[union-attr]
    signalled = time.monotonic()
    daemon.terminate()
    code = daemon.process.wait(timeout=15)

    assert code == 0
    assert time.monotonic() - signalled < 10, "exits within shutdown_timeout"
    assert daemon.events("daemon.stopped")[-1]["clean"] is True
    stopped = daemon.events("rotation.stopped")
    assert stopped and "shutting down" in stopped[0]["reason"]
    # The create's answer was journaled; the key was never written to Vault: the step boundary held.
    rotation = world.journal().rotation
    assert rotation is not None and rotation.phase is Phase.CREATED and rotation.new_key_id == created
    assert world.stored().data["key_id"] == old.id
    assert_vault_key_works(world)
    assert world.lease_expires_at() <= datetime.now(UTC), "the lease is released for a standby to take over"
    assert daemon.events("lease.released")

    # The next run undoes the unstored key and rotates afresh.
    rerun = run_once(world, config)
    assert rerun.code == 0, rerun.stdout + rerun.stderr
    assert "chatbot: rotated" in rerun.stdout
    assert world.key(created).deleted_at is not None, "the key the stop left unstored is deleted"
    new = assert_vault_key_works(world)
    assert new.id not in before and new.id != created
    assert_no_orphans(world, before)
    assert world.key(old.id).deleted_at is None, "grace 24h: the old key lives on"


def test_sigterm_during_a_step_longer_than_the_timeout_exits_anyway_and_the_next_run_cleans_up(
    world: World, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    old = world.managed_key()
    before = world.key_ids()
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", latency_seconds=60, when="after", times=1))
    config = world.config_file(tmp_path, old, daemon={"shutdown_timeout": "2s"})
    daemon = start_daemon(world, config)

    created = wait_for(lambda: new_key_created(world, before), timeout=15, what="the create to reach LangSmith")
    signalled = time.monotonic()
    daemon.terminate()
    code = daemon.process.wait(timeout=30)

    assert code == 0
    assert time.monotonic() - signalled < 2 + 3, "a LangSmith call that hangs does not hold the exit"
    assert daemon.events("daemon.stopped")[-1]["clean"] is False
    rotation = world.journal().rotation
    assert rotation is not None and rotation.phase is Phase.INTENT, "killed mid-create: the id was never seen"
    assert world.stored().data["key_id"] == old.id
    # The create may still be in flight: the lease is left to lapse rather than handed to a standby now.
    assert world.lease_expires_at() > datetime.now(UTC)

    world.lapse_lease()
    rerun = run_once(world, config)
    assert rerun.code == 0, rerun.stdout + rerun.stderr
    assert world.key(created).deleted_at is not None, "the key created under the intent is found and deleted"
    assert_vault_key_works(world)
    assert_no_orphans(world, before)

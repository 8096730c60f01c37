"""Crashes at every step boundary: `rotator once` really dies (``os._exit`` at a failpoint), then runs again.

Each run is a real process talking to the sandbox over loopback and to the real OpenBao, on the host's clock.
After the rerun, I1-I3 hold against what the sandbox and Vault really hold, and nothing is left in flight.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from langsmith_sandbox import FaultRule
from rotator.domain.rotation import Phase
from rotator.failpoints import CRASH_EXIT_CODE
from rotator.rotation import Result
from tests.support.crashes import CRASH_PHASES, phase_of
from tests.support.orgs import ORG_ADMIN_ROLE
from tests.support.rotation_world import HOUR, World, WorldFactory, assert_i1, assert_i2, assert_invariants, run_cli
from tests.support.sandbox_vault_world import CREATE_PATH, DAY

pytestmark = pytest.mark.integration


@pytest.fixture
def live_world(make_world: WorldFactory) -> World:
    return make_world(real_clock=True)


@pytest.mark.parametrize("failpoint", list(CRASH_PHASES))
def test_a_crash_at_any_step_is_finished_or_undone_by_the_next_run(
    live_world: World, tmp_path: Path, failpoint: str
) -> None:
    world = live_world
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    config = world.config_file(tmp_path, world.managed(key=old, grace_period="0"))

    crashed = run_cli(world, config, "once", failpoint=failpoint)

    assert crashed.code == CRASH_EXIT_CODE, crashed.stderr[-2000:]
    journal = world.journal()
    assert phase_of(journal) == CRASH_PHASES[failpoint]
    # Whatever the crash left, Vault holds a working key and the old key is gone only if it may be.
    assert_i1(world)
    assert_i2(world, old.id, grace=timedelta(0))
    if failpoint in ("after_create", "after_verify"):
        assert (
            journal.rotation is not None
            and journal.rotation.new_key_id is not None
            and world.live_key(journal.rotation.new_key_id)
        )
        assert world.stored().data["key_id"] == old.id, "not yet written: Vault still holds the old key"
    if failpoint == "after_delete":
        assert not world.live_key(old.id)

    if failpoint == "after_create":
        # I4: the dead process still holds the lease, so a second one stands by and touches nothing.
        keys = world.key_ids()
        standby = run_cli(world, config, "once")
        assert standby.code == 0
        assert "chatbot: standby" in standby.stdout
        assert world.key_ids() == keys
        assert world.journal().rotation == journal.rotation
    world.lapse_lease()

    rerun = run_cli(world, config, "once")

    assert rerun.code == 0, rerun.stdout + rerun.stderr[-2000:]
    assert "chatbot: completed" in rerun.stdout
    new = assert_invariants(world, old_id=old.id, before=before, grace=timedelta(0))
    assert new.id != old.id
    assert not world.live_key(old.id)
    journal = world.journal()
    assert journal.rotation is None and not journal.retiring, "nothing may be left in flight"
    assert journal.current_key_id == new.id
    assert world.stored().custom_metadata["previous_key_id"] == old.id
    assert journal.history == (old.id,)
    assert [k.id for k in world.state.all_keys() if k.id not in before and k.deleted_at is None] == [new.id]


def test_a_crash_after_promotion_with_a_grace_period_leaves_the_old_key_waiting(
    live_world: World, tmp_path: Path
) -> None:
    world = live_world
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    config = world.config_file(tmp_path, world.managed(key=old, grace_period="24h"))

    assert run_cli(world, config, "once", failpoint="after_promote").code == CRASH_EXIT_CODE
    world.lapse_lease()
    rerun = run_cli(world, config, "once")

    assert rerun.code == 0, rerun.stderr[-2000:]
    assert "chatbot: waiting" in rerun.stdout  # promoted by the crashed run; this one waits for grace
    assert_invariants(world, old_id=old.id, before=before)
    assert world.live_key(old.id)
    journal = world.journal()
    assert journal.rotation is None and [old.key_id for old in journal.retiring] == [old.id]


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(FaultRule(path=CREATE_PATH, method="POST", status=500, when="after", times=1), id="500"),
        pytest.param(
            FaultRule(path=CREATE_PATH, method="POST", drop_connection=True, when="after", times=1), id="drop"
        ),
    ],
)
def test_a_key_created_whose_answer_was_lost_is_deleted_by_the_next_run(
    live_world: World, tmp_path: Path, fault: FaultRule
) -> None:
    world = live_world
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    config = world.config_file(tmp_path, world.managed(key=old, grace_period="0"))
    world.state.faults.add(fault)

    failed = run_cli(world, config, "once")

    assert failed.code == 2, failed.stdout + failed.stderr[-2000:]
    assert "chatbot: failed" in failed.stdout
    assert "unknown outcome" in failed.stdout
    orphans = [key for key in world.state.all_keys() if key.id not in before]
    assert len(orphans) == 1, "the sandbox made the key although the client saw a failure"
    assert world.live_key(orphans[0].id)
    journal = world.journal()
    assert journal.rotation is not None and journal.rotation.phase is Phase.INTENT
    assert journal.failures == 1 and journal.next_attempt_at is not None
    assert world.stored().data["key_id"] == old.id

    rerun = run_cli(world, config, "once")

    assert rerun.code == 0, rerun.stdout + rerun.stderr[-2000:]
    assert "chatbot: waiting" in rerun.stdout, "the orphan is cleaned up, the rotation waits out its backoff"
    assert not world.live_key(orphans[0].id)
    assert world.key_ids() == before | {orphans[0].id}
    assert_invariants(world, old_id=old.id, before=before)
    assert world.journal().rotation is None
    assert world.live_key(old.id)

    forced = run_cli(world, config, "rotate", "chatbot")

    assert forced.code == 0, forced.stdout + forced.stderr[-2000:]
    assert "chatbot: completed" in forced.stdout
    new = assert_invariants(world, old_id=old.id, before=before, grace=timedelta(0))
    assert not world.live_key(old.id)
    assert world.journal().failures == 0
    assert [k.id for k in world.state.all_keys() if k.id not in before and k.deleted_at is None] == [new.id]


def test_a_lost_create_of_a_never_expiring_key_is_reported_and_blocks_further_creates(world: World) -> None:
    """Without an expiry there is no fingerprint: the suspect is neither deleted (it could be a person's key)
    nor left behind silently while the rotator makes another never-expiring key on every attempt."""
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE, lifetime=None, age=100 * DAY)
    before = world.key_ids()
    secret = world.managed(key=old, grace_period="0")
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=500, when="after", times=1))
    [outcome] = world.run(secret)
    assert outcome.result is Result.FAILED
    [suspect] = world.key_ids() - before
    assert world.state.key(suspect) is not None

    for _ in range(2):  # within the backoff, and after it
        [outcome] = world.run(secret)

        assert outcome.result is Result.FAILED
        assert f"may have made key(s) {suspect}" in outcome.message
        assert "never expiring" in outcome.message
        assert world.key_ids() == before | {suspect}, "no further key while the suspect is there"
        assert world.live_key(suspect), "never deleted on a guess"
        assert world.live_key(old.id)
        assert assert_i1(world).id == old.id
        world.state.clock.advance(2 * HOUR)

    world.state.delete_key(suspect)  # a person checked: nobody made it on purpose
    [outcome] = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    new = assert_invariants(world, old_id=old.id, before=before, grace=timedelta(0))
    assert new.expires_at is None, "a key that never expired is replaced by one that never expires"


def test_a_lost_create_of_a_never_expiring_key_that_made_nothing_carries_on(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE, lifetime=None, age=100 * DAY)
    before = world.key_ids()
    secret = world.managed(key=old, grace_period="0")
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=500, times=1))  # before LangSmith
    world.run(secret)
    world.state.clock.advance(2 * HOUR)

    [outcome] = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert_invariants(world, old_id=old.id, before=before, grace=timedelta(0))

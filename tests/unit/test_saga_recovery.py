"""Recovery, in-process: a crash at each failpoint (``ROTATOR_FAILPOINT``, raising where the process would die)
is finished or undone by a fresh run, and of two actors on one secret the journal's check-and-set lets one go on
while the other stops without leaving a key behind or the target holding a deleted one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from langsmith_sandbox import FaultRule
from rotator.domain.journal import Fingerprint
from rotator.domain.rotation import Phase
from rotator.failpoints import CRASH_EXIT_CODE
from rotator.rotation import Outcome, Result
from tests.support.crashes import CRASH_PHASES, phase_of
from tests.support.memory import PendingWrite
from tests.support.saga_world import CREATE_PATH, JOURNAL, Crash, SagaWorld

ArmFailpoint = Callable[[str | None], None]


@pytest.mark.parametrize("failpoint", list(CRASH_PHASES))
def test_a_crash_at_any_step_is_finished_or_undone_by_the_next_run(
    world: SagaWorld, crash_at: ArmFailpoint, failpoint: str
) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old, grace_period="0")
    crash_at(failpoint)

    with pytest.raises(Crash) as crashed:
        world.run(secret)

    assert crashed.value.code == CRASH_EXIT_CODE
    journal = world.journal
    assert phase_of(journal) == CRASH_PHASES[failpoint]
    # Whatever the crash left, the target holds a working key and the old key is gone only if it may be.
    world.assert_target_authenticates()
    world.assert_retired_safely(old.id, grace=timedelta(0))
    world.assert_no_orphans(before)
    rotation = journal.rotation
    if failpoint in ("after_create", "after_verify"):
        assert rotation is not None and rotation.new_key_id is not None and world.live(rotation.new_key_id)
        assert (world.target.version, world.stored.data["key_id"]) == (1, old.id), "not yet written"
    if failpoint in ("before_vault_metadata", "after_vault_write"):
        assert rotation is not None and world.stored.data["key_id"] == rotation.new_key_id
        recorded = world.stored.custom_metadata.get("rotation_id")
        assert recorded == (rotation.id if failpoint == "after_vault_write" else None)
    if failpoint == "after_delete":
        assert not world.live(old.id)

    crash_at(None)
    outcome = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    new = world.assert_invariants(old_id=old.id, before=before, grace=timedelta(0))
    assert new.id != old.id and not world.live(old.id)
    journal = world.journal
    assert (journal.rotation, journal.retiring) == (None, ()), "nothing may be left in flight"
    assert (journal.current_key_id, journal.history, journal.failures) == (new.id, (old.id,), 0)
    assert world.stored.custom_metadata["previous_key_id"] == old.id
    assert world.new_keys(before) == [new.id]
    if failpoint == "after_intent":  # nothing was made, but a create may land later: it is looked for
        assert rotation is not None and rotation.spec.expires_at is not None
        assert journal.unresolved == (Fingerprint("chatbot prod", rotation.spec.expires_at, rotation.started_at),)


def test_a_crash_after_promotion_with_a_grace_period_leaves_the_old_key_waiting(
    world: SagaWorld, crash_at: ArmFailpoint
) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)
    crash_at("after_promote")
    with pytest.raises(Crash):
        world.run(secret)
    crash_at(None)

    outcome = world.run(secret)

    assert outcome.result is Result.WAITING, "promoted by the crashed run; this one waits for the grace period"
    world.assert_invariants(old_id=old.id, before=before)
    assert world.live(old.id)
    assert [retiring.key_id for retiring in world.journal.retiring] == [old.id]


@pytest.mark.parametrize(
    ("failpoint", "plan"),
    [
        ("after_create", "would delete 1 key(s) a crash left unstored"),
        ("after_vault_write", "would promote the key a crash left stored in Vault"),
    ],
    ids=["unstored", "stored"],
)
def test_a_dry_run_after_a_crash_says_how_it_would_recover_and_changes_nothing(
    world: SagaWorld, crash_at: ArmFailpoint, failpoint: str, plan: str
) -> None:
    old = world.managed_key()
    crash_at(failpoint)
    with pytest.raises(Crash):
        world.run(world.secret(old))
    crash_at(None)
    keys, journal, stored = world.key_ids(), world.store.peek(JOURNAL), world.stored
    live = [key for key in keys if world.live(key)]

    outcome = world.run(world.secret(old), dry_run=True)

    assert plan in outcome.message
    assert (world.store.peek(JOURNAL), world.stored) == (journal, stored)
    assert [key for key in world.key_ids() if world.live(key)] == live


# ── two actors on one secret ────────────────────────────────────────────────────────────────────────────


def test_an_actor_that_loses_the_journal_race_after_creating_deletes_its_key(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)

    def another_actor_writes_first(pending: PendingWrite) -> None:
        rotation = pending.data.get("rotation")
        if isinstance(rotation, dict) and rotation.get("phase") == Phase.CREATED:
            world.store.before_write = None
            document, version = world.store.peek(JOURNAL)
            assert document is not None
            world.store.save(JOURNAL, document, version=version)  # its claim: the same state, one version up

    world.store.before_write = another_actor_writes_first

    outcome = world.run(secret)

    assert outcome.result is Result.SKIPPED
    assert "another rotator wrote this secret's journal first" in outcome.message
    [made] = world.new_keys(before, live=False)
    assert not world.live(made), "its secret can never reach the target, so it is deleted at once"
    assert (world.target.version, world.stored.data["key_id"]) == (1, old.id)
    rotation = world.journal.rotation
    assert rotation is not None and rotation.phase is Phase.INTENT, "the journal is the winner's"
    assert world.journal.failures == 0

    outcome = world.run(secret)  # the winner (any later run) carries on from its intent

    assert outcome.result is Result.ROTATED, outcome.message
    new = world.assert_invariants(old_id=old.id, before=before)
    assert world.new_keys(before) == [new.id]


@pytest.mark.parametrize("second_creates", [True, False], ids=["second-rotates", "second-create-refused"])
def test_a_second_actor_recovering_a_rotation_in_flight_fences_the_first_out_of_the_target(
    world: SagaWorld, second_creates: bool
) -> None:
    """The first actor, verified, is slow to store its key: a second one (misconfigured with a lease of its own)
    takes the rotation over meanwhile and deletes that key. The first's write must then fail, never store the
    deleted key, whether or not the second went on to store a key of its own."""
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)
    first_key: list[str] = []
    second: list[Outcome] = []

    def second_actor_recovers(pending: PendingWrite) -> None:
        world.target.before_write = None
        first_key.append(str(pending.data["key_id"]))
        if not second_creates:
            world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=400, times=1))
        second.append(world.run(secret))

    world.target.before_write = second_actor_recovers

    first = world.run(secret)

    [taken_over] = second
    assert first.result is Result.FAILED and "check-and-set lost" in first.message
    assert not world.live(first_key[0]), "the second actor deleted the first's key"
    stored = world.assert_invariants(old_id=old.id, before=before)
    assert stored.id != first_key[0]
    journal = world.journal
    assert (journal.current_key_id, journal.rotation) == (stored.id, None)
    if second_creates:
        assert taken_over.result is Result.ROTATED, taken_over.message
        assert stored.id == taken_over.key_id
        assert world.target.version == 3, "old key, the fence, the second actor's key"
        assert [retiring.key_id for retiring in journal.retiring] == [old.id]
        assert journal.failures == 0, "the first actor's failure is not journaled: it lost the journal"
        assert world.new_keys(before) == [stored.id]
    else:
        assert taken_over.result is Result.FAILED and "create refused" in taken_over.message
        assert stored.id == old.id
        assert world.target.version == 2, "the fence: the old key rewritten, one version up"
        assert journal.retiring == () and journal.failures == 1
        assert world.new_keys(before) == []


def test_of_two_actors_recovering_one_crashed_rotation_only_the_first_to_claim_it_goes_on(
    world: SagaWorld, crash_at: ArmFailpoint
) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old, grace_period="0")
    crash_at("after_create")
    with pytest.raises(Crash):
        world.run(secret)
    crash_at(None)
    rotation = world.journal.rotation
    assert rotation is not None and rotation.new_key_id is not None
    winner: list[Outcome] = []

    def the_other_claims_first(pending: PendingWrite) -> None:
        world.store.before_write = None
        winner.append(world.run(secret))

    world.store.before_write = the_other_claims_first

    loser = world.run(secret)

    assert loser.result is Result.SKIPPED, loser.message
    [won] = winner
    assert won.result is Result.COMPLETED, won.message
    assert not world.live(rotation.new_key_id), "the crashed run's key is deleted, once"
    new = world.assert_invariants(old_id=old.id, before=before, grace=timedelta(0))
    assert world.new_keys(before) == [new.id]
    assert world.journal.rotation is None and world.journal.history == (old.id,)


def test_a_second_actor_recovering_a_first_adoption_fences_the_first_out_of_the_empty_target(
    world: SagaWorld,
) -> None:
    original = world.managed_key(store=False)
    secret = world.secret(original)
    first_key: list[str] = []

    def second_actor_recovers(pending: PendingWrite) -> None:
        world.target.before_write = None
        first_key.append(str(pending.data["key_id"]))
        world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=400, times=1))
        world.run(secret)  # deletes the first actor's key, then cannot make its own

    world.target.before_write = second_actor_recovers

    first = world.run(secret)

    assert not world.live(first_key[0])
    fenced = world.target.peek()
    assert fenced is not None and "api_key" not in fenced.data, "the empty target was fenced, and holds no key"
    assert not first.promoted and first.result is Result.FAILED, "its write was fenced out"

"""Failures storing, in-process: the target's check-and-set lost, a write refused before or after the create, a
write or a journal save whose answer was lost (landed or not), a failed read-back, and stores that cannot be read
or written. Each fails cleanly: the target keeps a working key, no key is orphaned, and the next run finishes or
undoes what was left."""

from __future__ import annotations

import pytest

from langsmith_sandbox import FaultRule
from rotator.domain.rotation import Phase
from rotator.rotation import Result
from tests.support.memory import PendingWrite
from tests.support.saga_world import CREATE_PATH, DAY, JOURNAL, SagaWorld

# ── the target ──────────────────────────────────────────────────────────────────────────────────────────


def test_a_write_refusal_known_in_advance_creates_no_key(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)
    world.target.refusal = "the Vault token may not update secret/data/apps/chatbot"

    outcome = world.run(secret)

    assert outcome.result is Result.FAILED
    assert "no key was created: the Vault token may not update" in outcome.message
    assert world.key_ids() == before
    world.assert_backoff()
    assert world.journal.rotation is None

    assert world.run(secret).result is Result.WAITING
    assert world.key_ids() == before


def test_a_concurrent_write_to_the_target_wins_and_the_new_key_is_deleted(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()

    def someone_writes_first(pending: PendingWrite) -> None:
        world.target.before_write = None
        world.target.write({"api_key": old.secret, "key_id": old.id, "by": "hand"}, cas=pending.cas)

    world.target.before_write = someone_writes_first

    outcome = world.run(world.secret(old))

    assert outcome.result is Result.FAILED
    assert "changed during rotation (check-and-set lost)" in outcome.message
    assert (world.stored.version, world.stored.data["by"]) == (2, "hand"), "the other writer's version stands"
    [new] = world.new_keys(before, live=False)
    assert not world.live(new)
    assert world.journal.rotation is None
    world.assert_backoff()
    world.assert_failed_cleanly(old.id, before)


def test_a_refused_write_deletes_the_new_key_at_once(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)
    world.target.refuse_writes()

    outcome = world.run(secret)

    assert outcome.result is Result.FAILED
    assert "cannot store the new key" in outcome.message and "permission denied" in outcome.message
    [new] = world.new_keys(before, live=False)
    assert not world.live(new), "nothing was stored, so the key is deleted without waiting for a next run"
    assert world.target.version == 1
    assert world.journal.rotation is None
    world.assert_backoff()
    world.assert_failed_cleanly(old.id, before)

    assert world.run(secret).result is Result.WAITING, "backing off: no new key every run"
    assert world.new_keys(before, live=False) == [new]


@pytest.mark.parametrize("landed", [True, False], ids=["write-landed", "write-lost"])
def test_a_write_whose_answer_was_lost_is_settled_by_the_next_run(world: SagaWorld, landed: bool) -> None:
    """The target may or may not hold the new key: the next run reads it and promotes the key if it is
    there, or fences the target and deletes the key if it is not. It never deletes a key the target holds."""
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)
    world.target.lose_write_answers(landed=landed)

    outcome = world.run(secret)

    assert outcome.result is Result.FAILED
    assert "storing the new key failed; the next run finishes or undoes it" in outcome.message
    rotation = world.journal.rotation
    assert rotation is not None and rotation.phase is Phase.CREATED and rotation.new_key_id is not None
    assert world.live(rotation.new_key_id), "not deleted: the target may hold it"
    assert world.target.version == (2 if landed else 1)
    world.assert_backoff()
    world.assert_target_authenticates()
    world.assert_no_orphans(before)

    outcome = world.run(secret)

    journal = world.journal
    assert world.live(old.id)
    assert journal.rotation is None
    if landed:
        assert outcome.result is Result.ROTATED, outcome.message
        assert journal.current_key_id == rotation.new_key_id
        assert [retiring.key_id for retiring in journal.retiring] == [old.id]
        assert journal.failures == 0
        assert world.stored.custom_metadata["rotation_id"] == rotation.id, "the metadata the lost write missed"
        assert world.assert_invariants(old_id=old.id, before=before).id == rotation.new_key_id
    else:
        assert outcome.result is Result.WAITING, outcome.message
        assert not world.live(rotation.new_key_id)
        assert world.target.version == 2, "fenced: rewritten as it was, one version up"
        assert world.stored.data == world.target.data_at(1)
        world.assert_failed_cleanly(old.id, before)


def test_a_read_back_that_fails_leaves_the_rotation_for_the_next_run_to_promote(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)
    world.target.before_write = lambda pending: world.target.fail_reads()

    outcome = world.run(secret)

    assert outcome.result is Result.FAILED
    assert "storing the new key failed" in outcome.message and "injected read failure" in outcome.message
    rotation = world.journal.rotation
    assert rotation is not None and rotation.phase is Phase.CREATED
    assert world.stored.data["key_id"] == rotation.new_key_id

    world.target.before_write = None
    outcome = world.run(secret)

    assert outcome.result is Result.ROTATED, outcome.message
    assert world.assert_invariants(old_id=old.id, before=before).id == rotation.new_key_id


def test_a_target_that_cannot_be_read_fails_before_anything_is_created(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    world.target.fail_reads()

    outcome = world.run(world.secret(old))

    assert outcome.result is Result.FAILED and "injected read failure" in outcome.message
    assert world.key_ids() == before
    world.assert_failed_cleanly(old.id, before)


# ── the journal ─────────────────────────────────────────────────────────────────────────────────────────


def test_a_journal_that_refuses_writes_fails_before_anything_is_created(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    world.store.refuse_writes()

    outcome = world.run(world.secret(old))

    assert outcome.result is Result.FAILED and "permission denied" in outcome.message
    assert world.key_ids() == before
    assert world.journal_version == 0
    world.assert_failed_cleanly(old.id, before)


@pytest.mark.parametrize("landed", [True, False], ids=["save-landed", "save-lost"])
def test_a_journal_write_lost_after_the_create_is_settled_by_the_next_run(world: SagaWorld, landed: bool) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)

    def lose_the_created_save(pending: PendingWrite) -> None:
        rotation = pending.data.get("rotation")
        if isinstance(rotation, dict) and rotation.get("phase") == Phase.CREATED:
            world.store.before_write = None
            world.store.lose_write_answers(landed=landed)

    world.store.before_write = lose_the_created_save

    outcome = world.run(secret)

    assert outcome.result is Result.FAILED and "injected lost answer" in outcome.message
    [made] = world.new_keys(before, live=False)
    assert not world.live(made), "deleted at once: the journal may never name it, so nobody else could"
    rotation = world.journal.rotation
    if landed:  # the journal names the key; the next run finds it gone, fences the target, and goes on
        assert rotation is not None and rotation.phase is Phase.CREATED
    else:  # the failure, and its backoff, were journaled over the intent
        assert rotation is None and world.journal.failures == 1
    assert world.assert_target_authenticates().id == old.id

    outcome = world.run(secret, force=not landed)

    assert outcome.result is Result.ROTATED, outcome.message
    new = world.assert_invariants(old_id=old.id, before=before)
    assert world.new_keys(before) == [new.id]


def test_a_refused_journal_save_after_the_create_deletes_the_new_key_at_once(world: SagaWorld) -> None:
    old = world.managed_key(lifetime=None, age=100 * DAY)
    before = world.key_ids()

    def refuse_the_created_save(pending: PendingWrite) -> None:
        rotation = pending.data.get("rotation")
        if isinstance(rotation, dict) and rotation.get("phase") == Phase.CREATED:
            world.store.before_write = None
            world.store.refuse_writes()

    world.store.before_write = refuse_the_created_save

    assert world.run(world.secret(old)).result is Result.FAILED
    assert world.new_keys(before) == [], "the journal does not name the key, so nobody else will delete it"


def test_a_promotion_that_loses_the_journal_race_is_not_reported_as_a_rotation(world: SagaWorld) -> None:
    old = world.managed_key()

    def another_actor_writes_first(pending: PendingWrite) -> None:
        if pending.name == JOURNAL and pending.data.get("rotation") is None and pending.data.get("retiring"):
            world.store.before_write = None
            document, version = world.store.peek(JOURNAL)
            world.store.save(JOURNAL, document or {}, version=version)

    world.store.before_write = another_actor_writes_first

    outcome = world.run(world.secret(old))

    assert not outcome.promoted, "this run's promotion was never journaled"
    assert outcome.result is Result.SKIPPED, outcome.message


def test_a_failure_whose_backoff_cannot_be_journaled_promises_no_backoff(world: SagaWorld) -> None:
    old = world.managed_key()
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=400, times=1))

    def refuse_the_failure(pending: PendingWrite) -> None:
        if pending.name == JOURNAL and pending.data.get("failures"):
            world.store.before_write = None
            world.store.refuse_writes()

    world.store.before_write = refuse_the_failure

    outcome = world.run(world.secret(old))

    assert outcome.result is Result.FAILED
    assert "next attempt after" not in outcome.message
    assert "no backoff was recorded" in outcome.message
    assert world.journal.failures == 0

"""Old keys after promotion, in-process: a grace period, a deletion held while the old key is still used, an
adopted original kept until its consumers stop, an old key missing from listings, a failed delete, and a
pending old key that never delays the next rotation."""

from __future__ import annotations

from datetime import timedelta

from langsmith_sandbox import FaultRule
from rotator.rotation import Result
from tests.support.saga_world import CREATE_PATH, DAY, HOUR, KEY_PATH_REGEX, SagaWorld


def test_an_old_key_still_used_after_promotion_is_held_until_max_grace(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old, grace_period="24h", max_grace="3d")
    assert world.run(secret).result is Result.ROTATED

    world.advance(2 * HOUR)
    world.use_key(old.secret)  # a consumer that never re-read the target
    world.advance(23 * HOUR)  # past the grace period
    outcome = world.run(secret)

    assert outcome.result is Result.HELD, outcome.message
    assert outcome.held_key_id == old.id
    assert "still used 2026-01-15 14:00 UTC" in outcome.message and "deletion held until 2026-01-18" in outcome.message
    assert world.live(old.id)
    [retiring] = world.journal.retiring
    assert retiring.hold_reported
    world.assert_invariants(old_id=old.id, before=before)
    version = world.journal_version

    assert world.run(secret).result is Result.HELD
    assert world.journal_version == version, "the hold is reported once"

    world.advance(2 * DAY)  # past max_grace (3d after promotion), although it is still used
    outcome = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live(old.id)
    world.assert_invariants(old_id=old.id, before=before, grace=3 * DAY)
    assert world.journal.history == (old.id,)


def test_a_use_recorded_within_the_slack_after_promotion_does_not_hold_deletion(world: SagaWorld) -> None:
    old = world.managed_key()
    secret = world.secret(old, grace_period="1h")
    world.run(secret)
    world.key(old.id).last_used_at = world.now() + timedelta(minutes=2)  # LangSmith records uses late

    world.advance(2 * HOUR)
    outcome = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live(old.id)


def test_an_adopted_original_is_kept_while_its_consumers_use_it_and_deleted_once_they_stop(world: SagaWorld) -> None:
    original = world.managed_key(store=False)
    before = world.key_ids()
    secret = world.secret(original, grace_period="1h", max_grace="2h")

    outcome = world.run(secret)

    assert outcome.result is Result.ROTATED and "never in Vault" in outcome.message
    assert world.target.version == 1, "written with cas=0: nothing was there"
    [retiring] = world.journal.retiring
    assert (retiring.key_id, retiring.adopted_original) == (original.id, True)
    world.assert_target_authenticates()
    for _ in range(6):  # far past max_grace, with the consumers still on the original secret
        world.advance(HOUR)
        world.use_key(original.secret)
        outcome = world.run(secret)
        assert world.live(original.id), "an adopted original in use is never deleted"
    assert (outcome.result, outcome.held_key_id) == (Result.HELD, original.id)
    assert "only its consumers hold it" in outcome.message

    world.advance(2 * HOUR)  # the consumers moved to the target: no use for longer than the grace period
    outcome = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live(original.id)
    world.assert_no_orphans(before)
    assert world.journal.history == (original.id,)


def test_an_old_key_left_out_of_the_listing_is_still_deleted_by_id(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old, grace_period="1h")
    world.run(secret)
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="GET", hide_ids=[old.id]))  # every list, stale

    assert world.run(secret).result is Result.WAITING, "missing, and within its grace period"
    world.advance(2 * HOUR)
    outcome = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live(old.id), "reported deleted, so LangSmith deleted it"
    assert world.journal.retiring == ()
    world.assert_invariants(old_id=old.id, before=before, grace=HOUR)


def test_an_adopted_original_missing_from_listings_is_deleted_after_three_listings_without_it(
    world: SagaWorld,
) -> None:
    original = world.managed_key(store=False)
    secret = world.secret(original, grace_period="1h")
    world.run(secret)
    world.advance(2 * HOUR)
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="GET", hide_ids=[original.id]))

    for runs in (1, 2):
        outcome = world.run(secret)

        assert outcome.result is Result.WAITING, outcome.message
        assert f"old key {original.id} is missing from this listing" in outcome.message
        [retiring] = world.journal.retiring
        assert retiring.unlisted_runs == runs
        assert world.live(original.id)

    outcome = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live(original.id)
    assert world.journal.retiring == ()


def test_a_failed_delete_keeps_the_old_key_for_the_next_run(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old, grace_period="1h")
    world.run(secret)
    world.advance(2 * HOUR)
    fault = world.state.faults.add(FaultRule(path=KEY_PATH_REGEX, regex=True, method="DELETE", status=500))

    outcome = world.run(secret)

    assert outcome.result is Result.FAILED and "HTTP 500" in outcome.message
    assert f"old key {old.id} deleted" not in outcome.message
    assert world.live(old.id)
    assert [retiring.key_id for retiring in world.journal.retiring] == [old.id], "kept for the next run"
    world.assert_invariants(old_id=old.id, before=before, grace=HOUR)

    world.state.faults.remove(fault)
    outcome = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live(old.id)
    world.assert_invariants(old_id=old.id, before=before, grace=HOUR)


def test_an_old_key_held_in_use_does_not_delay_the_next_rotation(world: SagaWorld) -> None:
    original = world.managed_key(store=False)
    before = world.key_ids()
    secret = world.secret(original, lifetime="9d", grace_period="1h", max_grace="2h")
    world.run(secret)
    first = world.assert_target_authenticates()

    world.advance(6 * DAY)  # the first replacement is due, and a consumer still reads the original
    world.use_key(original.secret)
    outcome = world.run(secret)

    assert (outcome.result, outcome.promoted, outcome.held_key_id) == (Result.HELD, True, original.id), outcome.message
    second = world.assert_target_authenticates()
    assert second.id not in (original.id, first.id)
    journal = world.journal
    assert journal.rotation is None, "one rotation at a time; old keys wait apart from it"
    assert [retiring.key_id for retiring in journal.retiring] == [original.id, first.id]
    assert journal.current_key_id == second.id
    world.assert_no_orphans(before)

    world.advance(2 * HOUR)
    outcome = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live(original.id) and not world.live(first.id)
    journal = world.journal
    assert (journal.retiring, journal.history) == ((), (original.id, first.id))
    assert world.new_keys(before) == [second.id]

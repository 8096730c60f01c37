"""Failures in LangSmith, in-process: a refused create and its backoff, creates whose outcome is unknown (landed
or not) and the sweep for lost creates, a new key that fails verification, a listing that fails, and a guard that
stops the run. Each fails cleanly: the target keeps a working key, no key is orphaned, and the next run finishes
or undoes what was left."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from langsmith_sandbox import FaultRule
from rotator.domain.journal import Fingerprint, SecretState
from rotator.domain.keys import CreatedKey
from rotator.domain.rotation import Phase
from rotator.langsmith import LangSmithClient
from rotator.rotation import MustStop, Result
from rotator.state import JournalStore
from tests.support.in_process import ENDPOINT, InProcessTransport
from tests.support.saga_world import CREATE_PATH, DAY, HOUR, ORG_ADMIN_ROLE, ORG_INFO_PATH, SECRET_NAME, SagaWorld

# ── creates ─────────────────────────────────────────────────────────────────────────────────────────────


def test_a_refused_create_backs_off_until_forced(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old, grace_period="0")
    fault = world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=403))

    outcome = world.run(secret)

    assert outcome.result is Result.FAILED
    assert "create refused" in outcome.message and "next attempt after 2026-01-15 13:00 UTC" in outcome.message
    world.assert_backoff()
    assert world.journal.rotation is None
    assert world.key_ids() == before
    world.assert_failed_cleanly(old.id, before)

    world.advance(timedelta(minutes=30))
    outcome = world.run(secret)

    assert outcome.result is Result.WAITING
    assert "backing off after 1 failure(s) until 2026-01-15 13:00 UTC" in outcome.message
    assert world.key_ids() == before

    world.advance(timedelta(minutes=31))  # past the backoff: tried again, refused again
    outcome = world.run(secret)

    assert outcome.result is Result.FAILED
    world.assert_backoff(failures=2)

    world.state.faults.remove(fault)
    outcome = world.run(secret, force=True)  # within the backoff, but forced

    assert outcome.result is Result.COMPLETED, outcome.message
    world.assert_invariants(old_id=old.id, before=before, grace=timedelta(0))
    done = world.journal
    assert (done.failures, done.next_attempt_at, done.last_error) == (0, None, None)


LANDED_BUT_LOST = [
    pytest.param(FaultRule(path=CREATE_PATH, method="POST", status=500, when="after", times=1), id="500"),
    pytest.param(FaultRule(path=CREATE_PATH, method="POST", drop_connection=True, when="after", times=1), id="drop"),
    pytest.param(FaultRule(path=CREATE_PATH, method="POST", latency_seconds=60, when="after", times=1), id="timeout"),
]


@pytest.mark.parametrize("fault", LANDED_BUT_LOST)
def test_a_create_whose_answer_was_lost_after_it_landed_is_deleted_by_the_next_run(
    world: SagaWorld, fault: FaultRule
) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)
    world.state.faults.add(fault)

    outcome = world.run(secret)

    assert outcome.result is Result.FAILED
    assert "create failed with an unknown outcome; the next run cleans up" in outcome.message
    [orphan] = world.new_keys(before)
    journal = world.journal
    assert journal.rotation is not None and journal.rotation.phase is Phase.INTENT
    world.assert_backoff()
    assert world.assert_target_authenticates().id == old.id

    outcome = world.run(secret)

    assert outcome.result is Result.WAITING, "the orphan is deleted; the rotation waits out its backoff"
    assert not world.live(orphan)
    journal = world.journal
    assert (journal.rotation, journal.unresolved) == (None, ()), "found and deleted: nothing left to look for"
    world.assert_failed_cleanly(old.id, before)

    world.advance(2 * HOUR)
    outcome = world.run(secret)

    assert outcome.result is Result.ROTATED, outcome.message
    new = world.assert_invariants(old_id=old.id, before=before)
    assert world.new_keys(before) == [new.id]


def test_a_create_whose_answer_was_lost_before_it_landed_is_looked_for_until_its_key_would_expire(
    world: SagaWorld,
) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=500, times=1))  # in front of LangSmith
    world.run(secret)
    rotation = world.journal.rotation
    assert rotation is not None and rotation.spec.expires_at is not None
    assert world.key_ids() == before

    outcome = world.run(secret)

    assert outcome.result is Result.WAITING, outcome.message
    journal = world.journal
    fingerprint = Fingerprint("chatbot prod", rotation.spec.expires_at, rotation.started_at)
    assert (journal.rotation, journal.unresolved) == (None, (fingerprint,)), "the create may still land"

    # The create lands late: LangSmith now holds a key that nobody has the secret of.
    late = world.state.add_service_key(
        world.org_id, org_role_id=ORG_ADMIN_ROLE, description="chatbot prod", expires_at=rotation.spec.expires_at
    )
    world.advance(timedelta(minutes=30))
    outcome = world.run(secret)

    assert outcome.result is Result.WAITING, outcome.message
    assert not world.live(late.id), "the late key is deleted when it appears"
    assert world.journal.unresolved == (fingerprint,), "and looked for until it would have expired"
    world.assert_failed_cleanly(old.id, before)

    world.advance(2 * HOUR)  # past the backoff: the rotation goes on, its key is no orphan
    assert world.run(secret).result is Result.ROTATED
    world.assert_invariants(old_id=old.id, before=before)


def test_the_sweep_forgets_a_lost_create_once_its_key_would_have_expired(world: SagaWorld) -> None:
    old = world.managed_key(age=DAY)
    now = world.now()
    lapsed = Fingerprint("chatbot prod", now - HOUR, now - 90 * DAY)
    live = Fingerprint("chatbot prod", now + 30 * DAY, now - 60 * DAY)
    JournalStore(world.store).save(SECRET_NAME, SecretState(current_key_id=old.id, unresolved=(lapsed, live)), 0)

    outcome = world.run(world.secret(old))

    assert outcome.result is Result.IDLE, outcome.message
    assert world.journal.unresolved == (live,)
    version = world.journal_version

    world.run(world.secret(old))

    assert world.journal_version == version, "a sweep that finds nothing and forgets nothing writes nothing"


def test_a_lost_create_of_a_never_expiring_key_blocks_further_creates_until_the_suspect_is_gone(
    world: SagaWorld,
) -> None:
    """Without an expiry there is no fingerprint: the suspect is neither deleted (it could be a person's key)
    nor left behind while another never-expiring key is made on every attempt."""
    old = world.managed_key(lifetime=None, age=100 * DAY)
    before = world.key_ids()
    secret = world.secret(old, grace_period="0")
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=500, when="after", times=1))
    assert world.run(secret).result is Result.FAILED
    [suspect] = world.new_keys(before)

    for _ in range(2):  # within the backoff, and after it
        outcome = world.run(secret)

        assert outcome.result is Result.FAILED
        assert f"may have made key(s) {suspect}" in outcome.message and "never expiring" in outcome.message
        assert world.key_ids() == before | {suspect}, "no further key while the suspect is there"
        assert world.live(suspect), "never deleted on a guess"
        assert world.assert_target_authenticates().id == old.id
        world.advance(2 * HOUR)

    world.state.delete_key(suspect)  # a person checked: nobody made it on purpose
    outcome = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    new = world.assert_invariants(old_id=old.id, before=before, grace=timedelta(0))
    assert new.expires_at is None, "a key that never expired is replaced by one that never expires"


# ── verification ────────────────────────────────────────────────────────────────────────────────────────


def test_a_new_key_that_fails_verification_is_deleted_and_never_stored(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()

    def refuse_the_next_check() -> None:
        world.state.faults.add(FaultRule(path=ORG_INFO_PATH, method="GET", status=401, times=1))

    world.before_verify = refuse_the_next_check

    outcome = world.run(world.secret(old))

    assert outcome.result is Result.FAILED
    assert "the new key failed verification: it does not authenticate" in outcome.message
    assert world.sleeps == [1.0, 2.0], "three attempts, waiting longer each time"
    [new] = world.new_keys(before, live=False)
    assert not world.live(new), "a key that failed verification is deleted"
    assert world.target.version == 1, "and never written"
    assert world.journal.rotation is None
    world.assert_backoff()
    world.assert_failed_cleanly(old.id, before)


class RoleDroppingClient(LangSmithClient):
    """Creates keys without the org role asked for, as a LangSmith that ignored ``org_role_id`` would."""

    def create_org_service_key(
        self,
        *,
        description: str,
        expires_at: datetime | None,
        workspace_ids: Sequence[str] | None,
        role_id: str | None = None,
        org_role_id: str | None = None,
    ) -> CreatedKey:
        return super().create_org_service_key(
            description=description, expires_at=expires_at, workspace_ids=workspace_ids, role_id=role_id
        )


def test_a_new_key_listed_unlike_the_plan_fails_verification_and_is_deleted(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    admin = RoleDroppingClient(
        endpoint=ENDPOINT,
        api_key=world.langsmith.org.admin.secret,
        organization_id=world.org_id,
        transport=InProcessTransport(world.state),
        sleep=lambda seconds: None,
    )

    with admin:
        outcome = world.run(world.secret(old), admin=admin)

    assert outcome.result is Result.FAILED
    assert "failed verification: it is listed with a different org_role_id" in outcome.message
    assert world.new_keys(before) == [], "the wider key is deleted"
    assert world.target.version == 1
    world.assert_failed_cleanly(old.id, before)


# ── LangSmith and the guard ─────────────────────────────────────────────────────────────────────────────


def test_a_passing_listing_failure_is_retried_and_a_lasting_one_fails_before_anything_is_created(
    world: SagaWorld,
) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old, grace_period="0")
    lasting = world.state.faults.add(FaultRule(path=CREATE_PATH, method="GET", status=500))

    outcome = world.run(secret)

    assert outcome.result is Result.FAILED and "HTTP 500" in outcome.message
    assert world.key_ids() == before and world.journal_version == 0

    world.state.faults.remove(lasting)
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="GET", status=503, times=1))
    outcome = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert world.state.faults.active() == [], "the passing fault was hit"
    world.assert_invariants(old_id=old.id, before=before, grace=timedelta(0))


def test_a_guard_that_says_stop_stops_before_the_create_and_the_next_run_goes_on(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)

    def lease_lost() -> None:
        raise MustStop("the rotation lease is no longer held")

    world.guard = lease_lost

    outcome = world.run(secret)

    assert outcome.result is Result.SKIPPED
    assert "stopped before the next change: the rotation lease is no longer held" in outcome.message
    rotation = world.journal.rotation
    assert rotation is not None and rotation.phase is Phase.INTENT, "the journal says where it stopped"
    assert world.key_ids() == before
    assert world.journal.failures == 0, "stopping is not a failure"

    world.guard = lambda: None
    outcome = world.run(secret)

    assert outcome.result is Result.ROTATED, outcome.message
    world.assert_invariants(old_id=old.id, before=before)
    assert len(world.new_keys(before)) == 1

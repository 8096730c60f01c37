"""Bad input gets a clear message and no destructive action (I6): a managed key deleted by hand, an ambiguous
adoption, ambiguous workspace names, backoff after a failure, and dry runs that change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from langsmith_sandbox import FaultRule
from rotator.rotation import Result
from tests.support.orgs import ORG_ADMIN_ROLE
from tests.support.rotation_world import EDITOR_ROLE, HOUR, World, assert_i1, assert_invariants
from tests.support.sandbox_vault_world import CREATE_PATH, DAY

pytestmark = pytest.mark.integration


def test_a_managed_key_deleted_by_hand_fails_clearly_and_creates_nothing(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE, age=DAY)  # not due yet
    secret = world.managed(key=old)
    [outcome] = world.run(secret)
    assert outcome.result is Result.IDLE
    assert world.journal().current_key_id == old.id
    world.state.delete_key(old.id)
    world.state.clock.advance(60 * DAY)  # due now, but gone
    before = world.key_ids()
    journal_version = world.journal_version()

    [outcome] = world.run(secret)

    assert outcome.result is Result.FAILED
    assert f"the managed key {old.id} is gone from LangSmith (deleted by hand?)" in outcome.message
    assert world.key_ids() == before
    assert world.stored().data["key_id"] == old.id, "Vault is left alone for a human to fix"
    assert world.journal_version() == journal_version


def test_adopting_a_key_id_that_is_gone_fails_clearly_and_creates_nothing(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    world.state.delete_key(old.id)
    before = world.key_ids()

    [outcome] = world.run(world.managed(key=old))

    assert outcome.result is Result.FAILED
    assert f"cannot adopt: no service key with id {old.id}" in outcome.message
    assert world.key_ids() == before
    assert world.journal_version() == 0


def test_adopting_by_a_description_two_keys_share_is_refused(world: World) -> None:
    first = world.managed_key(description="chatbot prod", org_role_id=ORG_ADMIN_ROLE)
    second = world.managed_key("other", description="chatbot prod", org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()

    [outcome] = world.run(world.managed(adopt={"description": "chatbot prod"}))

    assert outcome.result is Result.FAILED
    assert "2 service keys with description 'chatbot prod'; adopt by key_id instead" in outcome.message
    assert first.id in outcome.message and second.id in outcome.message
    assert world.key_ids() == before
    assert world.journal_version() == 0
    assert world.live_key(first.id) and world.live_key(second.id)


def test_a_key_held_in_vault_under_another_id_is_not_adopted(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE, store=False)
    other = world.managed_key("other", org_role_id=ORG_ADMIN_ROLE, description="something else", store=False)
    world.kv.write(world.path(), {"api_key": other.secret, "key_id": other.id}, cas=0)
    before = world.key_ids()

    [outcome] = world.run(world.managed(key=old))

    assert outcome.result is Result.FAILED
    assert f"holds key {other.id}" in outcome.message
    assert world.key_ids() == before


def test_ambiguous_workspace_names_refuse_the_rotation_before_creating_anything(world: World) -> None:
    old = world.managed_key(workspace_ids=[world.production_id], role_id=EDITOR_ROLE)
    world.state.add_workspace(world.org_id, "production")  # LangSmith lets two workspaces share a name
    before = world.key_ids()

    [outcome] = world.run(world.managed(key=old))

    assert outcome.result is Result.FAILED
    assert "cannot plan the replacement: 2 workspaces named 'production'" in outcome.message
    assert world.key_ids() == before
    assert assert_i1(world).id == old.id
    journal = world.journal()
    assert journal.rotation is None
    assert (journal.failures, journal.next_attempt_at) == (1, world.now() + HOUR)


def test_a_failed_rotation_backs_off_until_forced(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    secret = world.managed(key=old, grace_period="0")
    fault = world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=403))

    [outcome] = world.run(secret)

    assert outcome.result is Result.FAILED
    assert "next attempt after 2026-01-15 13:00 UTC" in outcome.message
    first = world.journal()
    assert (first.failures, first.next_attempt_at) == (1, world.now() + HOUR)
    assert first.last_error is not None and "create refused" in first.last_error

    world.state.clock.advance(timedelta(minutes=30))
    [outcome] = world.run(secret)

    assert outcome.result is Result.WAITING
    assert "backing off after 1 failure(s) until 2026-01-15 13:00 UTC" in outcome.message
    assert world.key_ids() == before

    world.state.clock.advance(timedelta(minutes=31))  # past the backoff: tried again, fails again
    [outcome] = world.run(secret)

    assert outcome.result is Result.FAILED
    second = world.journal()
    assert (second.failures, second.next_attempt_at) == (2, world.now() + 2 * HOUR)

    world.state.faults.remove(fault)
    runtime = world.runtime(secret)
    outcome = runtime.run_secret(runtime.settings.managed_secret("chatbot"), dry_run=False, force=True)
    runtime.services.gate.release()

    assert outcome.result is Result.COMPLETED, outcome.message
    assert_invariants(world, old_id=old.id, before=before, grace=timedelta(0))
    done = world.journal()
    assert (done.failures, done.next_attempt_at, done.last_error) == (0, None, None)


# ── dry runs ────────────────────────────────────────────────────────────────────────────────────────────


def test_a_dry_run_plans_the_rotation_and_changes_nothing(world: World) -> None:
    old = world.managed_key(workspace_ids=[world.production_id, world.staging_id], role_id=EDITOR_ROLE)
    before = world.key_ids()
    runtime = world.runtime(world.managed(key=old))

    [outcome] = runtime.run_cycle(dry_run=True).outcomes

    assert outcome.result is Result.PLANNED
    assert "would rotate" in outcome.message
    assert "workspaces production, staging" in outcome.message
    assert f"expiring {(world.now() + 90 * DAY):%Y-%m-%d}" in outcome.message
    assert world.key_ids() == before
    assert world.version() == 1
    assert world.journal_version() == 0
    assert world.kv.read(world.lease_path) is None, "a dry run does not even take the lease"


def test_a_dry_run_of_a_rotation_that_cannot_be_planned_records_nothing(world: World) -> None:
    old = world.managed_key(workspace_ids=[world.production_id], role_id=EDITOR_ROLE)
    world.state.add_workspace(world.org_id, "production")
    runtime = world.runtime(world.managed(key=old))

    [outcome] = runtime.run_cycle(dry_run=True).outcomes

    assert outcome.result is Result.FAILED
    assert "2 workspaces named 'production'" in outcome.message
    assert world.journal_version() == 0, "a dry run writes no journal, not even a failure"


def test_a_dry_run_during_grace_says_it_would_delete_and_deletes_nothing(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    secret = world.managed(key=old, grace_period="1h")
    world.run(secret)
    world.state.clock.advance(2 * HOUR)
    journal_version = world.journal_version()
    runtime = world.runtime(secret)

    [outcome] = runtime.run_cycle(dry_run=True).outcomes

    assert outcome.result is Result.PLANNED
    assert f"would delete the old key {old.id}" in outcome.message
    assert world.live_key(old.id)
    assert world.journal_version() == journal_version
    journal = world.journal()
    assert journal.rotation is None and [retiring.key_id for retiring in journal.retiring] == [old.id]

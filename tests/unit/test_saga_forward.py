"""The saga's forward path, in-process: adopt; idle while not due; due → intent → create → verify → store (CAS)
→ promote → retiring → grace → delete → completed; force, revoke_old, dry runs, and importing a secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from langsmith_sandbox.roles import BUILTIN_BY_NAME, WORKSPACE_EDITOR
from rotator.domain.journal import Retiring
from rotator.domain.rotation import Phase
from rotator.rotation import Result
from tests.support.in_process import ENDPOINT
from tests.support.saga_world import DAY, HOUR, JOURNAL, ORG_ADMIN_ROLE, SagaWorld

EDITOR_ROLE = BUILTIN_BY_NAME[WORKSPACE_EDITOR].id


def journaled_phases(world: SagaWorld) -> list[str | None]:
    """The rotation phase each journal write recorded, in order (None: no rotation in flight)."""
    return [(document["rotation"] or {}).get("phase") for document in world.store.history(JOURNAL)]


def test_a_due_key_is_replaced_and_its_old_key_deleted_once_the_grace_period_is_over(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)

    outcome = world.run(secret)

    assert (outcome.result, outcome.promoted) == (Result.ROTATED, True), outcome.message
    new = world.assert_invariants(old_id=old.id, before=before)
    assert world.new_keys(before) == [new.id]
    assert (new.description, new.workspace_ids, new.org_role_id) == ("chatbot prod", (), ORG_ADMIN_ROLE)
    assert new.expires_at == (world.now() + 90 * DAY).replace(microsecond=0)
    assert new.last_used_at == world.now(), "verified: the new key authenticated"
    assert world.sleeps == []
    assert world.live(old.id), "the old key survives until its grace period is over"
    stored = world.stored
    assert stored.version == 2
    assert {name: value for name, value in stored.data.items() if name != "api_key"} == {
        "key_id": new.id,
        "short_key": new.short_key,
        "expires_at": new.expires_at.isoformat(),
        "org_id": world.org_id,
        "endpoint": ENDPOINT,
    }
    journal = world.journal
    assert (journal.current_key_id, journal.rotation, journal.failures, journal.history) == (new.id, None, 0, ())
    [retiring] = journal.retiring
    assert retiring == Retiring(old.id, new.id, world.now(), retiring.rotation_id)
    assert stored.custom_metadata["previous_key_id"] == old.id
    assert stored.custom_metadata["rotation_id"] == retiring.rotation_id
    assert stored.custom_metadata["rotated_at"] == world.now().isoformat()
    assert stored.custom_metadata["managed_name"] == "chatbot"
    # Each step journaled before the next: adopted, intent, created, claimed again before the write, promoted.
    assert journaled_phases(world) == [None, Phase.INTENT, Phase.CREATED, Phase.CREATED, None]

    world.advance(HOUR)
    outcome = world.run(secret)

    assert (outcome.result, outcome.promoted) == (Result.WAITING, False)
    assert f"old key {old.id} deleted after 2026-01-16 12:00 UTC" in outcome.message
    assert (world.journal_version, world.target.version) == (5, 2), "waiting writes nothing"
    assert world.live(old.id)

    world.advance(23 * HOUR + timedelta(minutes=1))
    outcome = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live(old.id)
    assert world.assert_invariants(old_id=old.id, before=before).id == new.id
    journal = world.journal
    assert (journal.current_key_id, journal.retiring, journal.history) == (new.id, (), (old.id,))

    outcome = world.run(secret)

    assert outcome.result is Result.IDLE, outcome.message
    assert "next rotation due 2026-03-16" in outcome.message
    assert world.key_ids() == before | {new.id}


def test_a_key_not_yet_due_is_adopted_and_left_alone(world: SagaWorld) -> None:
    old = world.managed_key(age=DAY)
    before = world.key_ids()
    secret = world.secret(old)

    outcome = world.run(secret)

    assert outcome.result is Result.IDLE, outcome.message
    assert outcome.message == f"next rotation due {world.now() + 59 * DAY:%Y-%m-%d %H:%M} UTC"
    assert (outcome.key_id, outcome.promoted) == (old.id, False)
    assert world.journal.current_key_id == old.id
    assert world.journal_version == 1
    assert (world.target.version, world.stored.data["key_id"]) == (1, old.id)
    assert world.key_ids() == before

    assert world.run(secret).result is Result.IDLE
    assert world.journal_version == 1, "an idle run writes nothing"


def test_a_key_is_adopted_by_its_exact_description(world: SagaWorld) -> None:
    old = world.managed_key()
    decoy = world.state.add_service_key(world.org_id, description="chatbot prod (old)")
    before = world.key_ids()

    outcome = world.run(world.secret(adopt={"description": "chatbot prod"}, grace_period="0"))

    assert outcome.result is Result.COMPLETED, outcome.message
    world.assert_invariants(old_id=old.id, before=before, grace=timedelta(0))
    assert not world.live(old.id) and world.live(decoy.id)
    assert world.journal.history == (old.id,)


@pytest.mark.parametrize("problem", ["gone", "ambiguous", "another-in-target"])
def test_an_adoption_that_cannot_be_made_safely_fails_and_changes_nothing(world: SagaWorld, problem: str) -> None:
    old = world.managed_key(store=problem != "another-in-target")
    adopt: dict[str, Any] = {"key_id": old.id}
    if problem == "gone":
        world.state.delete_key(old.id)
        expected = f"cannot adopt: no service key with id {old.id}"
    elif problem == "ambiguous":
        world.managed_key(store=False)
        adopt = {"description": "chatbot prod"}
        expected = "2 service keys with description 'chatbot prod'; adopt by key_id instead"
    else:
        other = world.managed_key(description="something else")
        expected = f"cannot adopt key {old.id}: {world.target.name} holds key {other.id}"
    before, version = world.key_ids(), world.target.version

    outcome = world.run(world.secret(adopt=adopt))

    assert outcome.result is Result.FAILED
    assert expected in outcome.message
    assert world.store.names() == [], "not even the adoption is journaled"
    assert world.key_ids() == before
    assert world.target.version == version


def test_a_workspace_scoped_key_keeps_its_workspaces_and_role(world: SagaWorld) -> None:
    old = world.managed_key(
        workspace_ids=[world.production_id, world.staging_id], role_id=EDITOR_ROLE, lifetime=30 * DAY, age=25 * DAY
    )
    before = world.key_ids()

    outcome = world.run(world.secret(old, grace_period="0"))

    assert outcome.result is Result.COMPLETED, outcome.message
    new = world.assert_invariants(old_id=old.id, before=before, grace=timedelta(0))
    assert set(new.workspace_ids) == {world.production_id, world.staging_id}
    assert (new.role_id, new.org_role_id, new.description) == (EDITOR_ROLE, None, "chatbot prod")
    assert new.expires_at == (world.now() + 30 * DAY).replace(microsecond=0)
    assert not world.live(old.id), "grace 0: the old key goes in the same run"
    assert world.key_ids() == before | {new.id}
    assert world.journal.history == (old.id,)


def test_force_rotates_a_key_that_is_not_due(world: SagaWorld) -> None:
    old = world.managed_key(age=DAY)
    before = world.key_ids()

    outcome = world.run(world.secret(old), force=True)

    assert outcome.result is Result.ROTATED, outcome.message
    new = world.assert_invariants(old_id=old.id, before=before)
    assert world.journal.current_key_id == new.id
    assert [old.key_id for old in world.journal.retiring] == [old.id]


def test_force_is_refused_while_an_old_key_waits_out_its_grace(world: SagaWorld) -> None:
    old = world.managed_key()
    secret = world.secret(old)
    world.run(secret)
    before, version, stored = world.key_ids(), world.journal_version, world.stored

    outcome = world.run(secret, force=True)

    assert outcome.result is Result.REFUSED
    assert f"old key(s) {old.id} still wait to be deleted" in outcome.message
    assert "rotator rotate chatbot --revoke-old" in outcome.message
    assert (world.key_ids(), world.journal_version, world.stored) == (before, version, stored), "nothing changed"
    assert world.live(old.id)


def test_revoke_old_deletes_every_older_key_as_soon_as_the_new_one_is_stored(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()
    secret = world.secret(old)
    world.run(secret)
    leaked = world.assert_target_authenticates()

    outcome = world.run(secret, revoke_old=True)

    assert outcome.result is Result.COMPLETED, outcome.message
    fresh = world.assert_invariants(old_id=leaked.id, before=before, grace=timedelta(0))
    assert fresh.id not in (old.id, leaked.id)
    assert not world.live(old.id) and not world.live(leaked.id), "no grace for a leaked key"
    journal = world.journal
    assert (journal.current_key_id, journal.retiring, journal.history) == (fresh.id, (), (old.id, leaked.id))
    assert world.stored.custom_metadata["previous_key_id"] == leaked.id
    assert world.new_keys(before) == [fresh.id]


# ── dry runs ────────────────────────────────────────────────────────────────────────────────────────────


def test_a_dry_run_plans_the_rotation_and_records_nothing(world: SagaWorld) -> None:
    old = world.managed_key()
    before = world.key_ids()

    outcome = world.run(world.secret(old), dry_run=True)

    assert outcome.result is Result.PLANNED
    assert f"would rotate {world.key(old.id).short_key}: create org-wide key 'chatbot prod'" in outcome.message
    assert f"expiring {world.now() + 90 * DAY:%Y-%m-%d}" in outcome.message
    assert world.store.names() == [], "not even the adoption is journaled"
    assert (world.key_ids(), world.target.version) == (before, 1)


def test_a_dry_run_of_a_rotation_that_cannot_be_planned_records_nothing(world: SagaWorld) -> None:
    old = world.managed_key(workspace_ids=[world.production_id], role_id=EDITOR_ROLE)
    world.state.add_workspace(world.org_id, "production")  # LangSmith lets two workspaces share a name

    outcome = world.run(world.secret(old), dry_run=True)

    assert outcome.result is Result.FAILED
    assert "2 workspaces named 'production'" in outcome.message
    assert world.store.names() == [], "a dry run records no failure either"


def test_a_dry_run_after_the_grace_period_says_it_would_delete_and_deletes_nothing(world: SagaWorld) -> None:
    old = world.managed_key()
    secret = world.secret(old, grace_period="1h")
    world.run(secret)
    world.advance(2 * HOUR)
    version = world.journal_version

    outcome = world.run(secret, dry_run=True)

    assert outcome.result is Result.PLANNED
    assert f"would delete the old key {old.id}" in outcome.message
    assert world.live(old.id)
    assert world.journal_version == version
    assert [retiring.key_id for retiring in world.journal.retiring] == [old.id]


def test_a_dry_run_of_a_first_adoption_says_what_a_real_run_would_keep(world: SagaWorld) -> None:
    original = world.managed_key(store=False)

    outcome = world.run(world.secret(original), dry_run=True)

    assert outcome.result is Result.PLANNED
    assert "nothing is in Vault yet" in outcome.message and "rotator adopt NAME --secret-stdin" in outcome.message
    assert world.store.names() == [] and world.target.peek() is None


# ── importing the managed key's own secret ──────────────────────────────────────────────────────────────


def test_import_stores_the_existing_secret_and_makes_no_key(world: SagaWorld) -> None:
    original = world.managed_key(store=False)
    other = world.managed_key(description="someone else", store=False)
    before = world.key_ids()
    secret = world.secret(original)

    wrong = world.import_secret(secret, other.secret)

    assert wrong.result is Result.FAILED and "is not key" in wrong.message
    assert world.target.peek() is None

    done = world.import_secret(secret, original.secret)

    assert done.result is Result.ADOPTED, done.message
    stored = world.stored
    assert stored.version == 1
    assert (stored.data["api_key"], stored.data["key_id"], stored.data["org_id"]) == (
        original.secret,
        original.id,
        world.org_id,
    )
    assert world.key_ids() == before, "no new key"
    assert world.journal.current_key_id == original.id

    rotated = world.run(secret)  # it was due

    assert rotated.result is Result.ROTATED, rotated.message
    [retiring] = world.journal.retiring
    assert (retiring.key_id, retiring.adopted_original) == (original.id, False), "its secret is in Vault now"


@pytest.mark.parametrize("problem", ["already-stored", "forged", "under-way"])
def test_import_refuses_what_it_cannot_store_safely(world: SagaWorld, problem: str) -> None:
    original = world.managed_key(store=problem == "already-stored")
    secret = world.secret(original)
    value = original.secret
    if problem == "forged":
        value = original.secret[:-4] + ("0000" if not original.secret.endswith("0000") else "1111")
        expected = "does not authenticate"
    elif problem == "under-way":
        world.run(secret)
        expected = "a rotation of this secret is under way; import a secret only into an idle one"
    else:
        expected = f"{world.target.name} already holds a key ({original.id}); nothing to import"
    before, version = world.key_ids(), world.target.version

    outcome = world.import_secret(secret, value)

    assert outcome.result is Result.FAILED
    assert expected in outcome.message
    assert (world.key_ids(), world.target.version) == (before, version)
    if problem == "forged":
        assert world.sleeps == [1.0, 2.0], "three attempts, a new key may take a moment"


def test_a_dry_run_import_stores_nothing(world: SagaWorld) -> None:
    original = world.managed_key(store=False)

    outcome = world.import_secret(world.secret(original), original.secret, dry_run=True)

    assert outcome.result is Result.PLANNED
    assert world.target.peek() is None and world.store.names() == []


# ── keys the saga must not rotate ───────────────────────────────────────────────────────────────────────


def test_a_managed_key_deleted_by_hand_fails_clearly_and_creates_nothing(world: SagaWorld) -> None:
    old = world.managed_key(age=DAY)
    secret = world.secret(old)
    world.run(secret)
    world.state.delete_key(old.id)
    world.advance(60 * DAY)
    before, version = world.key_ids(), world.journal_version

    outcome = world.run(secret)

    assert outcome.result is Result.FAILED
    assert f"the managed key {old.id} is gone from LangSmith (deleted by hand?)" in outcome.message
    assert (world.key_ids(), world.journal_version) == (before, version)
    assert world.stored.data["key_id"] == old.id, "the target is left for a human to fix"


def test_the_rotators_own_admin_key_is_never_rotated(world: SagaWorld) -> None:
    admin = world.langsmith.org.admin
    world.target.write({"api_key": admin.secret, "key_id": admin.id}, cas=0)
    before = world.key_ids()
    saga = world.saga(world.secret(admin, grace_period="0"))
    saga.own_admin_key = lambda key, stored: "environment variable X" if stored == admin.secret else None

    outcome = saga.run()

    assert outcome.result is Result.FAILED
    assert (
        "is the rotator's own admin key for org acme" in outcome.message and "environment variable X" in outcome.message
    )
    assert world.key_ids() == before and world.live(admin.id)

"""Rotations that go right, in-process against the sandbox and the real OpenBao: the replacement keeps the old
key's scope, roles and description, lands in Vault with its metadata, and the old key goes after its grace."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from rotator.rotation import Result
from tests.support.orgs import ORG_ADMIN_ROLE
from tests.support.rotation_world import (
    EDITOR_ROLE,
    HOUR,
    VIEWER_ROLE,
    World,
    WorldFactory,
    assert_i1,
    assert_invariants,
    sha256,
)
from tests.support.sandbox_vault_world import DAY

pytestmark = pytest.mark.integration


def test_org_wide_admin_key_is_replaced_by_an_identical_one_and_the_old_waits_out_its_grace(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE, lifetime=90 * DAY)
    before = world.key_ids()
    secret = world.managed(key=old, grace_period="24h")

    [outcome] = world.run(secret)

    assert outcome.result is Result.ROTATED, outcome.message
    new = assert_invariants(world, old_id=old.id, before=before)
    assert new.id != old.id
    assert (new.description, new.workspace_ids, new.org_role_id) == ("chatbot prod", (), ORG_ADMIN_ROLE)
    assert new.access_scope == "organization"
    assert new.expires_at == (world.now() + 90 * DAY).replace(microsecond=0)
    assert world.live_key(old.id), "the old key must survive until its grace period is over"

    stored = world.stored()
    assert set(stored.data) == {"api_key", "key_id", "short_key", "expires_at", "org_id", "endpoint"}
    assert sha256(stored.data["api_key"]) == new.secret_sha256
    assert stored.data["key_id"] == new.id
    assert stored.data["short_key"] == new.short_key
    assert datetime.fromisoformat(stored.data["expires_at"]) == new.expires_at
    assert stored.data["org_id"] == world.org_id
    assert stored.data["endpoint"] == world.api_url.removesuffix("/api/v1")  # what LANGSMITH_ENDPOINT wants
    assert stored.custom_metadata["previous_key_id"] == old.id
    assert datetime.fromisoformat(stored.custom_metadata["rotated_at"]) == world.now()
    assert stored.custom_metadata["managed_name"] == "chatbot"

    journal = world.journal()
    assert journal.current_key_id == new.id
    assert journal.rotation is None and [retiring.key_id for retiring in journal.retiring] == [old.id]
    assert journal.failures == 0

    # An hour later nothing changes: still in grace, and no new rotation is counted.
    world.state.clock.advance(HOUR)
    [outcome] = world.run(secret)
    assert (outcome.result, outcome.promoted) == (Result.WAITING, False)
    assert world.live_key(old.id)

    world.state.clock.advance(23 * HOUR + timedelta(minutes=1))
    [outcome] = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live_key(old.id)
    assert assert_invariants(world, old_id=old.id, before=before).id == new.id
    journal = world.journal()
    assert journal.rotation is None
    assert journal.history == (old.id,)

    # Then the new key is simply watched: not due for another ~60 days.
    [outcome] = world.run(secret)
    assert outcome.result is Result.IDLE
    assert world.key_ids() == before | {new.id}


@pytest.mark.parametrize(
    ("workspaces", "role"),
    [
        pytest.param(("production", "staging"), EDITOR_ROLE, id="two-workspaces-editor"),
        pytest.param(("staging",), VIEWER_ROLE, id="one-workspace-viewer"),
    ],
)
def test_workspace_scoped_key_keeps_its_workspaces_and_role(
    world: World, workspaces: tuple[str, ...], role: str
) -> None:
    ids = {"production": world.production_id, "staging": world.staging_id}
    old = world.managed_key(
        workspace_ids=[ids[name] for name in workspaces], role_id=role, lifetime=30 * DAY, age=25 * DAY
    )
    before = world.key_ids()

    [outcome] = world.run(world.managed(key=old, grace_period="0"))

    assert outcome.result is Result.COMPLETED, outcome.message
    new = assert_invariants(world, old_id=old.id, before=before, grace=timedelta(0))
    assert set(new.workspace_ids) == {ids[name] for name in workspaces}
    assert (new.role_id, new.org_role_id, new.description) == (role, None, "chatbot prod")
    assert new.expires_at == (world.now() + 30 * DAY).replace(microsecond=0)
    assert not world.live_key(old.id), "grace 0: the old key goes in the same run"
    assert world.key_ids() == before | {new.id}


def test_lifetime_from_config_overrides_the_old_keys(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE, lifetime=90 * DAY)

    [outcome] = world.run(world.managed(key=old, lifetime="30d"))

    assert outcome.result is Result.ROTATED
    new = assert_i1(world)
    assert new.expires_at == (world.now() + 30 * DAY).replace(microsecond=0)


@pytest.mark.parametrize("max_days", [2, 30])
def test_the_org_maximum_expiry_caps_the_new_keys_lifetime(make_world: WorldFactory, max_days: int) -> None:
    world = make_world(max_service_key_expiry_days=max_days)
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE, lifetime=90 * DAY)  # older than the org's rule
    before = world.key_ids()

    [outcome] = world.run(world.managed(key=old, lifetime="60d"))

    assert outcome.result is Result.ROTATED, outcome.message
    new = assert_invariants(world, old_id=old.id, before=before)
    assert new.expires_at is not None
    assert new.expires_at < world.now() + max_days * DAY, "the sandbox accepts only keys within the org's limit"
    assert new.expires_at > world.now() + max_days * DAY - HOUR


def test_a_never_expiring_key_in_an_org_with_a_maximum_gets_the_maximum(make_world: WorldFactory) -> None:
    world = make_world(max_service_key_expiry_days=30)
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE, lifetime=None, age=100 * DAY)
    before = world.key_ids()

    [outcome] = world.run(world.managed(key=old))

    assert outcome.result is Result.ROTATED, outcome.message
    new = assert_invariants(world, old_id=old.id, before=before)
    assert new.expires_at is not None
    assert world.now() + 30 * DAY - HOUR < new.expires_at < world.now() + 30 * DAY


def test_adoption_by_exact_description(world: World) -> None:
    old = world.managed_key(description="chatbot prod", org_role_id=ORG_ADMIN_ROLE)
    world.state.add_service_key(world.org_id, description="chatbot prod (old)")
    before = world.key_ids()

    [outcome] = world.run(world.managed(adopt={"description": "chatbot prod"}, grace_period="0"))

    assert outcome.result is Result.COMPLETED, outcome.message
    assert_invariants(world, old_id=old.id, before=before, grace=timedelta(0))
    assert not world.live_key(old.id)


def test_old_key_still_used_after_promotion_holds_deletion_until_max_grace(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    secret = world.managed(key=old, grace_period="24h", max_grace="3d")
    [outcome] = world.run(secret)
    assert outcome.result is Result.ROTATED

    # A consumer that never re-read Vault calls LangSmith with the old key two hours after the switch.
    world.state.clock.advance(2 * HOUR)
    response = httpx.get(
        f"{world.api_url}/orgs/current/info",
        headers={"X-API-Key": old.secret, "X-Organization-Id": world.org_id},
    )
    assert response.status_code == 200
    world.state.clock.advance(23 * HOUR)  # past the grace period

    [outcome] = world.run(secret)

    assert outcome.result is Result.HELD, outcome.message
    assert "still used" in outcome.message
    assert world.live_key(old.id)
    journal = world.journal()
    assert journal.retiring and journal.retiring[0].hold_reported
    assert_invariants(world, old_id=old.id, before=before)

    world.state.clock.advance(2 * DAY)  # past max_grace (3d after promotion), although it is still used
    [outcome] = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live_key(old.id)
    assert_invariants(world, old_id=old.id, before=before, grace=3 * DAY)


def test_a_use_recorded_within_the_slack_after_promotion_does_not_hold_deletion(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    secret = world.managed(key=old, grace_period="1h")
    world.run(secret)
    record = world.state.key(old.id)
    assert record is not None
    record.last_used_at = world.now() + timedelta(minutes=2)  # LangSmith records uses late; within the slack

    world.state.clock.advance(2 * HOUR)
    [outcome] = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live_key(old.id)


def test_a_cycle_takes_the_lease_once_however_many_secrets_it_rotates(world: World) -> None:
    secrets = [
        world.managed(name, key=world.managed_key(name, description=name)) for name in ("bot-a", "bot-b", "bot-c")
    ]
    runtime = world.runtime(*secrets)
    outcomes = runtime.run_cycle().outcomes
    assert [outcome.result for outcome in outcomes] == [Result.ROTATED] * 3
    lease = world.kv.read(world.lease_path)
    assert lease is not None
    assert lease.version == 1, "one write took the lease; each secret did not write it again"

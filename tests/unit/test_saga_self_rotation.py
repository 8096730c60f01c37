"""The rotator rotates its own admin key: kept in the target it reads its key from, replaced with the same org
role, switched to at once, the old one deleted after grace; crash-safe at every step, and a process whose key
another replica replaced reads the new one on LangSmith's 401."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from rotator.failpoints import CRASH_EXIT_CODE
from rotator.rotation import Result
from rotator.secrets import Credential
from tests.support.crashes import FAILPOINTS
from tests.support.saga_world import DAY, HOUR, ORG_ADMIN_ROLE, Crash, SagaWorld

ArmFailpoint = Callable[[str | None], None]


def admin_from_target(world: SagaWorld) -> Credential:
    """The admin key as a process reads it: from the target, when it starts, and again when asked."""

    def read() -> str:
        stored = world.target.peek()
        assert stored is not None
        return str(stored.data["api_key"])

    return Credential(read, world.target.name)


@pytest.fixture
def admin_key(world: SagaWorld) -> Credential:
    """Acme's admin key (org-wide, Organization Admin) is in the target, as `orgs[].api_key.vault` points."""
    admin = world.langsmith.org.admin
    world.target.write({"api_key": admin.secret, "key_id": admin.id}, cas=0)
    return admin_from_target(world)


def test_the_admin_key_is_replaced_with_its_role_and_used_at_once(world: SagaWorld, admin_key: Credential) -> None:
    old = world.langsmith.org.admin
    before = world.key_ids()
    secret = world.secret(None, manages_admin_key=True)
    admin = world.client(admin_key)

    outcome = world.run(secret, force=True, admin=admin, on_promoted=admin_key.switch)

    assert outcome.result is Result.ROTATED, outcome.message
    new = world.assert_target_authenticates()
    assert new.id != old.id and admin_key.secret == world.stored.data["api_key"], "switched at once"
    assert new.org_role_id == ORG_ADMIN_ROLE and new.workspace_ids == (), "same org role, org-wide: no more"
    assert world.live(old.id), "the old key waits out its grace period"

    world.advance(25 * HOUR)
    outcome = world.run(secret, admin=admin, on_promoted=admin_key.switch)  # the same client: no restart

    assert outcome.result is Result.COMPLETED, outcome.message
    assert new.requests["GET /api/v1/orgs/current/service-keys"] >= 1, "the same client lists with the new key"
    assert not world.live(old.id)
    world.assert_invariants(old_id=old.id, before=before)
    assert world.run(secret, admin=admin).result is Result.IDLE, "the rotator goes on with its new key"


def test_a_process_whose_admin_key_another_replaced_reads_the_new_one_on_a_401(
    world: SagaWorld, admin_key: Credential
) -> None:
    secret = world.secret(None, manages_admin_key=True)
    standby = admin_from_target(world)  # another process, which read the key before the rotation
    standby_client = world.client(standby)

    world.run(secret, revoke_old=True, admin=world.client(admin_key), on_promoted=admin_key.switch)

    assert not world.live(world.langsmith.org.admin.id), "revoked: the key the standby holds is gone"
    assert standby.secret == world.langsmith.org.admin.secret
    keys = standby_client.list_org_service_keys()  # 401, read again, sent again
    assert standby.secret == admin_key.secret
    assert {key.id for key in keys} >= {world.assert_target_authenticates().id}


@pytest.mark.parametrize("failpoint", FAILPOINTS)
def test_a_crash_at_any_step_of_its_own_rotation_leaves_the_rotator_a_key_that_works(
    world: SagaWorld, admin_key: Credential, crash_at: ArmFailpoint, failpoint: str
) -> None:
    old = world.langsmith.org.admin
    before = world.key_ids()
    secret = world.secret(None, grace_period="0", manages_admin_key=True)
    crash_at(failpoint)

    with pytest.raises(Crash) as crashed:
        world.run(secret, force=True, admin=world.client(admin_key), on_promoted=admin_key.switch)

    assert crashed.value.code == CRASH_EXIT_CODE
    world.assert_target_authenticates()
    world.assert_no_orphans(before)
    crash_at(None)
    restarted = admin_from_target(world)  # a new process reads its key where it keeps it
    admin = world.client(restarted)
    admin.org_info()  # it authenticates, whatever the crash left

    outcome = world.run(secret, admin=admin, on_promoted=restarted.switch)  # finishes, or undoes, what was left
    if outcome.result is Result.IDLE and world.live(old.id):  # undone: the rotation is asked for again
        outcome = world.run(secret, force=True, admin=admin, on_promoted=restarted.switch)

    assert outcome.result is Result.COMPLETED, outcome.message
    new = world.assert_invariants(old_id=old.id, before=before, grace=timedelta(0))
    assert not world.live(old.id) and restarted.secret == world.stored.data["api_key"]
    assert world.new_keys(before) == [new.id]
    admin.org_info()
    assert world.run(secret, admin=admin).result is Result.IDLE


def test_without_adopt_and_nothing_in_the_target_adoption_asks_for_it(world: SagaWorld) -> None:
    outcome = world.run(world.secret(None))

    assert outcome.result is Result.FAILED
    assert "holds no key to start from; give managed[].adopt" in outcome.message
    assert world.new_keys(world.key_ids()) == []


def test_an_old_key_is_not_deleted_early_even_for_the_admin_key(world: SagaWorld, admin_key: Credential) -> None:
    secret = world.secret(None, manages_admin_key=True, grace_period="2d")
    admin = world.client(admin_key)
    world.run(secret, force=True, admin=admin, on_promoted=admin_key.switch)
    world.advance(DAY)

    assert world.run(secret, admin=admin).result is Result.WAITING
    assert world.live(world.langsmith.org.admin.id)

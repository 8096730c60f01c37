"""The rotator's own admin key, rotated by real `rotator once` processes that die at every step: the next run
reads the admin key where it keeps it (Vault), authenticates with whichever key that is, and finishes or undoes
the rotation; the old key is deleted only once the new one is stored and in use."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rotator.failpoints import CRASH_EXIT_CODE
from tests.support import rotator_cli
from tests.support.crashes import FAILPOINTS
from tests.support.orgs import ORG_ADMIN_ROLE
from tests.support.rotation_world import World, WorldFactory, assert_i1, assert_i2, assert_invariants, run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def live_world(make_world: WorldFactory) -> World:
    return make_world(real_clock=True)


def self_managed_config(world: World, directory: Path, *, key_id: str) -> Path:
    config = world.config({**world.managed(grace_period="0"), "self": True, "adopt": {"key_id": key_id}})
    config["orgs"][0]["api_key"] = {"vault": {"path": world.path()}}
    return rotator_cli.write_config(directory, config)


@pytest.mark.parametrize("failpoint", FAILPOINTS)
def test_a_crash_in_its_own_rotation_never_locks_the_rotator_out(
    live_world: World, tmp_path: Path, failpoint: str
) -> None:
    world = live_world
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)  # due, in Vault: the key the rotator itself uses
    before = world.key_ids()
    config = self_managed_config(world, tmp_path, key_id=old.id)

    crashed = run_cli(world, config, "once", failpoint=failpoint, secrets=[old.secret])

    assert crashed.code == CRASH_EXIT_CODE, crashed.stderr[-2000:]
    assert_i1(world)
    assert_i2(world, old.id, grace=timedelta(0))
    world.lapse_lease()

    rerun = run_cli(world, config, "once", secrets=[old.secret])

    assert rerun.code == 0, rerun.stdout + rerun.stderr[-2000:]
    if world.live_key(old.id):  # undone: nothing was stored, so the old key is still the rotator's
        rerun = run_cli(world, config, "rotate", "chatbot", secrets=[old.secret])
        assert rerun.code == 0, rerun.stdout + rerun.stderr[-2000:]
    new = assert_invariants(world, old_id=old.id, before=before, grace=timedelta(0))
    assert new.id != old.id and not world.live_key(old.id)
    assert new.org_role_id == ORG_ADMIN_ROLE
    journal = world.journal()
    assert journal.rotation is None and not journal.retiring, "nothing may be left in flight"

    after = run_cli(world, config, "once", secrets=[old.secret])

    assert after.code == 0, after.stdout + after.stderr[-2000:]
    assert "chatbot: idle" in after.stdout, "the next process authenticates with the new key"


def test_an_admin_key_from_the_environment_is_refused_with_the_way_out(live_world: World, tmp_path: Path) -> None:
    world = live_world
    entry = {**world.managed(key=world.managed_key(org_role_id=ORG_ADMIN_ROLE)), "self": True}
    config = rotator_cli.write_config(tmp_path, world.config(entry))

    refused = run_cli(world, config, "check")

    assert refused.code == 3
    assert "managed[0].self: org 'acme' reads its admin key from an environment variable" in refused.stderr
    assert "Traceback" not in refused.stderr

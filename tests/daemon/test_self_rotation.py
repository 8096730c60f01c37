"""A live `rotator run` whose admin key is the managed secret: it rotates its own key, switches to the new one
at once, deletes the old after grace, and keeps polling; when someone replaces the key in Vault by hand (a leak
response), the daemon reads the new one without a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from langsmith_sandbox import IssuedKey
from tests.support import rotator_cli
from tests.support.daemon_world import StartDaemon, World, assert_no_orphans, assert_vault_key_works

pytestmark = pytest.mark.integration


def self_managed_config(world: World, admin: IssuedKey) -> dict[str, Any]:
    """The rotator's admin key is read from the managed path: the entry is its own admin key."""
    config = world.config(admin, grace="0")
    config["orgs"][0]["api_key"] = {"vault": {"path": world.path}}
    config["managed"][0]["self"] = True
    return config


def healthy(cycle: dict[str, Any]) -> bool:
    return bool(cycle["failed_orgs"] == [] and cycle["failures"] == 0)


def test_a_live_daemon_rotates_its_own_admin_key_and_keeps_polling(
    world: World, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    admin = world.managed_key()  # due, Organization Admin, in Vault where the config says the admin key is
    before = {key.id for key in world.state.all_keys()}
    config = rotator_cli.write_config(tmp_path, self_managed_config(world, admin))
    daemon = start_daemon(world, config, admin_secret="lsv2_sk_not_the_admin_key_0000000000")

    first = daemon.wait_cycles(3, timeout=60)

    assert first[0]["rotations"] == 1 and first[0]["deletions"] == 1, daemon.tail()
    assert world.key(admin.id).deleted_at is not None, "its old key, after a grace period of 0"
    rotated = assert_vault_key_works(world)
    assert rotated.id != admin.id and rotated.org_role_id == world.key(admin.id).org_role_id
    assert all(healthy(cycle) for cycle in first), "every cycle after the switch polled with the new key"
    assert_no_orphans(world, before)

    # A leak, answered by hand: a new admin key in Vault, the one the daemon holds deleted in LangSmith.
    replacement = world.service_key("rotator admin, by hand")
    world.kv.write(world.path, {"api_key": replacement.secret, "key_id": replacement.id}, cas=world.stored().version)
    with world.state.lock:
        world.state.delete_key(rotated.id)
    seen = len(daemon.events("cycle.finished"))
    later = daemon.wait_cycles(seen + 2, timeout=60)[seen:]

    assert all(cycle["failed_orgs"] == [] for cycle in later), "it polls with the key Vault holds now"
    assert daemon.process.poll() is None, "no restart"
    assert not daemon.events("rotation.crashed")
    assert world.key(replacement.id).requests["GET /api/v1/orgs/current/service-keys"] >= 2

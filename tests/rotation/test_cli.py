"""`rotator once` and `rotator rotate` as an operator runs them: real processes, the host's clock, one line per
managed secret, and exit codes a CronJob or a monitoring check can act on (0 ok, 2 failed, 3 unknown)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from langsmith_sandbox import FaultRule
from tests.support.orgs import ORG_ADMIN_ROLE
from tests.support.rotation_world import World, WorldFactory, assert_i1, assert_invariants, run_cli
from tests.support.sandbox_vault_world import CREATE_PATH, DAY

pytestmark = pytest.mark.integration


@pytest.fixture
def live_world(make_world: WorldFactory) -> World:
    return make_world(real_clock=True)


def test_once_prints_one_line_per_managed_secret_and_exits_0_when_all_went_well(
    live_world: World, tmp_path: Path
) -> None:
    world = live_world
    due = world.managed_key("chatbot", org_role_id=ORG_ADMIN_ROLE)
    fresh = world.managed_key("billing", description="billing", org_role_id=ORG_ADMIN_ROLE, age=DAY)
    before = world.key_ids()
    config = world.config_file(
        tmp_path, world.managed("chatbot", key=due, grace_period="0"), world.managed("billing", key=fresh)
    )

    done = run_cli(world, config, "once")

    assert done.code == 0, done.stdout + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    assert lines[0].startswith("chatbot: completed — ")
    assert lines[1].startswith("billing: idle — next rotation due ")
    assert_invariants(world, old_id=due.id, before=before, name="chatbot", grace=timedelta(0))
    assert assert_i1(world, "billing").id == fresh.id


def test_once_exits_2_when_a_rotation_failed_and_still_rotates_the_others(live_world: World, tmp_path: Path) -> None:
    world = live_world
    due = world.managed_key("chatbot", org_role_id=ORG_ADMIN_ROLE)
    world.managed_key("billing", description="billing", org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    config = world.config_file(
        tmp_path,
        world.managed("billing", adopt={"description": "no such key"}),
        world.managed("chatbot", key=due, grace_period="0"),
    )

    done = run_cli(world, config, "once")

    assert done.code == 2, done.stdout + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    assert lines[0].startswith("billing: failed — cannot adopt: no service key with description 'no such key'")
    assert lines[1].startswith("chatbot: completed — ")
    assert_invariants(world, old_id=due.id, before=before, grace=timedelta(0))


def test_rotate_forces_a_rotation_that_is_backing_off(live_world: World, tmp_path: Path) -> None:
    world = live_world
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    config = world.config_file(tmp_path, world.managed(key=old, grace_period="0"))
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=403, times=1))

    failed = run_cli(world, config, "once")
    assert failed.code == 2
    assert "chatbot: failed — create refused" in failed.stdout

    waiting = run_cli(world, config, "once")
    assert waiting.code == 0, waiting.stdout + waiting.stderr[-2000:]
    assert "chatbot: waiting — backing off after 1 failure(s)" in waiting.stdout
    assert world.key_ids() == before

    forced = run_cli(world, config, "rotate", "chatbot")

    assert forced.code == 0, forced.stdout + forced.stderr[-2000:]
    assert forced.stdout.startswith("chatbot: completed — ")
    assert_invariants(world, old_id=old.id, before=before, grace=timedelta(0))
    assert world.journal().failures == 0


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["once"], id="once"),
        pytest.param(["rotate", "chatbot"], id="rotate"),
    ],
)
def test_a_command_that_exits_lets_go_of_the_lease(live_world: World, tmp_path: Path, command: list[str]) -> None:
    """Else `rotator once` right after `rotator rotate` (or a CronJob after a manual run) stands by for a ttl."""
    world = live_world
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    config = world.config_file(tmp_path, world.managed(key=old, grace_period="0"))

    first = run_cli(world, config, *command)
    assert first.code == 0, first.stdout + first.stderr[-2000:]
    assert first.stdout.startswith("chatbot: completed — ")

    after = run_cli(world, config, "once")

    assert after.code == 0
    assert after.stdout.startswith("chatbot: idle — "), after.stdout


@pytest.mark.parametrize("command", [["once", "--dry-run"], ["rotate", "chatbot", "--dry-run"]], ids=" ".join)
def test_dry_run_prints_the_plan_and_changes_nothing(live_world: World, tmp_path: Path, command: list[str]) -> None:
    world = live_world
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    config = world.config_file(tmp_path, world.managed(key=old, grace_period="0"))

    done = run_cli(world, config, *command)

    assert done.code == 0, done.stdout + done.stderr[-2000:]
    assert done.stdout.startswith("chatbot: planned — would rotate ")
    assert "create org-wide key 'chatbot prod', expiring " in done.stdout
    assert world.key_ids() == before
    assert all(key.deleted_at is None for key in world.state.all_keys())
    assert world.version() == 1
    assert world.journal_version() == 0
    assert world.kv.read(world.lease_path) is None


def test_rotate_an_unknown_name_exits_3_naming_it(live_world: World, tmp_path: Path) -> None:
    world = live_world
    config = world.config_file(tmp_path, world.managed(adopt={"description": "x"}))

    done = run_cli(world, config, "rotate", "nope")

    assert done.code == 3
    assert "no managed secret named 'nope'" in done.stderr


def test_a_missing_admin_key_is_a_config_error_exit_3(live_world: World, tmp_path: Path) -> None:
    world = live_world
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    config = world.config_file(tmp_path, world.managed(key=old))
    config.write_text(config.read_text().replace("ROTATION_TEST_ADMIN_KEY", "ROTATION_TEST_UNSET"))

    done = run_cli(world, config, "once")

    assert done.code == 3
    assert "ROTATION_TEST_UNSET: environment variable is not set or empty" in done.stderr
    assert world.key_ids() == before


def test_after_a_rotation_check_shows_the_old_key_as_retiring_not_as_an_alarm(
    live_world: World, tmp_path: Path
) -> None:
    world = live_world
    due = world.managed_key("chatbot", org_role_id=ORG_ADMIN_ROLE, age=85 * DAY)  # 5 days left: critical
    config = world.config_file(tmp_path, world.managed("chatbot", key=due, grace_period="24h"))
    assert run_cli(world, config, "check").code == 2, "before: the managed key is critical"

    assert run_cli(world, config, "once").code == 0
    checked = run_cli(world, config, "check", "--output", "json")

    keys = {key["id"]: key for key in json.loads(checked.stdout)["keys"]}
    old = keys[due.id]
    assert (old["status"], old["managed"]) == ("retiring", "chatbot")
    delete_after = datetime.fromisoformat(old["delete_after"])
    assert timedelta(hours=23) < delete_after - datetime.now(UTC) <= timedelta(hours=24)
    (new,) = [key for key in keys.values() if key["managed"] == "chatbot" and key["id"] != due.id]
    assert new["status"] == "ok"
    assert checked.code == 0, "a key waiting out its grace period is not an alarm"
    again = run_cli(world, config, "--log-level", "info", "once")
    (finished,) = [json.loads(line) for line in again.stderr.splitlines() if '"cycle.finished"' in line]
    assert finished["keys"].get("retiring") == 1 and "critical" not in finished["keys"]

"""`rotator status [NAME]`: what each managed secret is doing, for the operator paged at night. Real processes,
the sandbox and OpenBao; read only, so it answers while another process holds the lease."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from langsmith_sandbox import FaultRule
from tests.support.orgs import ORG_ADMIN_ROLE
from tests.support.rotation_world import World, WorldFactory, run_cli
from tests.support.sandbox_vault_world import CREATE_PATH, DAY

pytestmark = pytest.mark.integration


@pytest.fixture
def live_world(make_world: WorldFactory) -> World:
    return make_world(real_clock=True)


def test_status_after_a_rotation_shows_the_grace_period_and_the_new_key(live_world: World, tmp_path: Path) -> None:
    world = live_world
    old = world.managed_key("chatbot", org_role_id=ORG_ADMIN_ROLE, age=85 * DAY)
    fresh = world.managed_key("billing", description="billing", org_role_id=ORG_ADMIN_ROLE, age=DAY)
    config = world.config_file(
        tmp_path, world.managed("chatbot", key=old, grace_period="24h"), world.managed("billing", key=fresh)
    )
    assert run_cli(world, config, "once").code == 0
    holder = world.runtime(world.managed("chatbot", key=old))
    lease = holder.services.gate.lease
    assert lease is not None and lease.try_acquire(), "another process holds the lease"

    shown = run_cli(world, config, "status", "--output", "json")

    assert shown.code == 0, shown.stdout + shown.stderr[-2000:]
    secrets = {entry["name"]: entry for entry in json.loads(shown.stdout)["secrets"]}
    chatbot = secrets["chatbot"]
    stored = world.kv.read(world.path("chatbot"))
    assert stored is not None
    assert chatbot["phase"] == "grace"
    assert chatbot["vault_path"] == f"secret/{world.path('chatbot')}"
    assert chatbot["vault_version"] == stored.version
    assert chatbot["current_key"]["id"] == stored.data["key_id"] != old.id
    assert chatbot["current_key"]["short_key"].startswith("lsv2_sk_")
    assert chatbot["previous_key"]["id"] == old.id
    (retiring,) = chatbot["retiring"]
    assert retiring["id"] == old.id and retiring["phase"] == "grace"
    until = datetime.fromisoformat(retiring["until"])
    assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)
    assert datetime.fromisoformat(chatbot["next_due_at"]) > datetime.now(UTC) + 50 * DAY
    assert chatbot["last_error"] is None and chatbot["failures"] == 0
    assert datetime.fromisoformat(chatbot["last_rotated_at"]) <= datetime.now(UTC)
    assert secrets["billing"]["phase"] == "idle"
    assert secrets["billing"]["current_key"]["id"] == fresh.id

    one = run_cli(world, config, "status", "chatbot")
    assert one.code == 0
    assert "chatbot" in one.stdout and "billing" not in one.stdout
    assert "grace" in one.stdout and old.id[:8] in one.stdout


def test_status_of_a_failing_secret_shows_the_backoff_and_the_error_and_exits_2(
    live_world: World, tmp_path: Path
) -> None:
    world = live_world
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    config = world.config_file(tmp_path, world.managed(key=old, grace_period="0"))
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=403, times=1))
    assert run_cli(world, config, "once").code == 2

    shown = run_cli(world, config, "status", "-o", "json")

    assert shown.code == 2, "a secret whose last run failed"
    (entry,) = json.loads(shown.stdout)["secrets"]
    assert entry["phase"] == "backoff"
    assert entry["failures"] == 1 and "create refused" in entry["last_error"]
    assert datetime.fromisoformat(entry["next_attempt_at"]) > datetime.now(UTC)
    assert entry["current_key"]["id"] == old.id
    table = run_cli(world, config, "status")
    assert "backoff" in table.stdout and "create refused" in table.stdout


def test_status_of_an_unknown_name_exits_3_naming_it(live_world: World, tmp_path: Path) -> None:
    world = live_world
    config = world.config_file(tmp_path, world.managed(key=world.managed_key(org_role_id=ORG_ADMIN_ROLE)))
    shown = run_cli(world, config, "status", "nosuch")
    assert shown.code == 3
    assert "no managed secret named 'nosuch'" in shown.stderr

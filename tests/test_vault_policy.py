"""The shipped Vault policy is exactly enough: a token holding only it rotates a key end to end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from langsmith_sandbox import SandboxClock, SandboxServer, SandboxState
from langsmith_sandbox.openbao import OpenBaoDevServer
from langsmith_sandbox.roles import BUILTIN_BY_NAME, WORKSPACE_EDITOR
from rotator.bootstrap import build_services
from rotator.config import Settings
from rotator.cycle import Rotator
from rotator.rotation import Result
from rotator.vault.errors import VaultPermissionError
from rotator.vault.kv import KvStore
from rotator.vault.session import VaultSession
from tests.support.orgs import seed_small_org

pytestmark = pytest.mark.integration

POLICY = Path(__file__).parent.parent / "deploy" / "vault" / "rotator-policy.hcl"


@pytest.fixture
def sandbox_now() -> Iterator[tuple[SandboxServer, SandboxState]]:
    state = SandboxState(SandboxClock())
    with SandboxServer(state) as server:
        yield server, state


@dataclass
class PolicyWorld:
    server: SandboxServer
    state: SandboxState
    openbao: OpenBaoDevServer
    org_id: str
    old_key_id: str
    name: str
    admin_path: str


@pytest.fixture
def policy_world(openbao: OpenBaoDevServer, sandbox_now: tuple[SandboxServer, SandboxState]) -> PolicyWorld:
    server, state = sandbox_now
    now = datetime.now(UTC)
    org = seed_small_org(state, workspaces=("production",))
    old = state.add_service_key(
        org.org_id,
        workspace_ids=[org.production_id],
        role_id=BUILTIN_BY_NAME[WORKSPACE_EDITOR].id,
        description="policy-test",
        created_at=now - timedelta(days=88),
        expires_at=now + timedelta(days=2),
    )
    state.add_service_key(org.org_id, description="unmanaged, near expiry", expires_at=now + timedelta(days=3))
    name = f"policy-{uuid.uuid4().hex[:8]}"
    admin_path = f"langsmith-rotator/admin/{name}"
    openbao.root_client().secrets.kv.v2.create_or_update_secret(
        path=admin_path, secret={"api_key": org.admin.secret}, mount_point="secret"
    )
    return PolicyWorld(server, state, openbao, org.org_id, old.id, name, admin_path)


def vault_session(runtime: Rotator) -> VaultSession:
    """The runtime's own Vault session: it holds only the token under test."""
    assert runtime.services.vault is not None
    return runtime.services.vault


def settings_for(world: PolicyWorld, managed: dict[str, Any] | None = None) -> Settings:
    return Settings.model_validate(
        {
            "orgs": [
                {
                    "name": "acme",
                    "endpoint": world.server.api_url,
                    "organization_id": world.org_id,
                    "api_key": {"vault": {"path": world.admin_path}},
                }
            ],
            "vault": {"address": world.openbao.address, "auth": {"method": "token", "token": {"env": "TOKEN"}}},
            "lease": {"name": world.name},
            "managed": [
                managed
                or {
                    "name": world.name,
                    "org": "acme",
                    "path": f"langsmith/{world.name}",
                    "adopt": {"key_id": world.old_key_id},
                    "grace_period": 0,
                }
            ],
        }
    )


def test_a_token_with_only_the_shipped_policy_runs_whole_cycles_without_a_permission_error(
    policy_world: PolicyWorld,
) -> None:
    world = policy_world
    world.openbao.write_policy("langsmith-rotator", POLICY.read_text())
    token = world.openbao.create_token(["langsmith-rotator"])
    runtime = Rotator(build_services(settings_for(world), {"TOKEN": token}))
    with capture_logs() as logs:
        (outcome,) = runtime.run_cycle().outcomes
        second = runtime.run_cycle()
        third = Rotator(
            build_services(settings_for(world), {"TOKEN": token})
        ).run_cycle()  # a new process: a CronJob's next run
    assert outcome.result is Result.COMPLETED, outcome.message
    assert all(o.ok for o in second.outcomes + third.outcomes)
    stored = KvStore(vault_session(runtime)).read(f"langsmith/{world.name}")
    assert stored is not None
    record = world.state.key(str(stored.data["key_id"]))
    assert record is not None and record.deleted_at is None
    old = world.state.key(world.old_key_id)
    assert old is not None and old.deleted_at is not None
    assert stored.custom_metadata["previous_key_id"] == world.old_key_id

    denied = [entry for entry in logs if "permission" in repr(entry).lower()]
    assert denied == [], "the policy covers every path a cycle uses (journal, lease, alert state)"
    triggers = [entry for entry in logs if entry["event"] == "alert.trigger"]
    assert [entry["summary"] for entry in triggers].count(triggers[0]["summary"]) == 1, (
        "the delivery state is kept in Vault: neither the next cycle nor the next process repeats an alert"
    )
    with pytest.raises(VaultPermissionError, match="permission denied"):
        KvStore(vault_session(runtime)).write(f"elsewhere/{world.name}", {"x": "y"}, cas=0)


def test_a_policy_that_may_not_write_the_managed_path_creates_no_key(policy_world: PolicyWorld) -> None:
    world = policy_world
    narrow = POLICY.read_text().replace(
        'path "secret/data/langsmith/*" {\n  capabilities = ["create", "read", "update"]',
        'path "secret/data/langsmith/*" {\n  capabilities = ["read"]',
    )
    assert narrow != POLICY.read_text()
    world.openbao.write_policy("rotator-narrow", narrow)
    token = world.openbao.create_token(["rotator-narrow"])
    keys_before = len(world.state.all_keys())
    (outcome,) = Rotator(build_services(settings_for(world), {"TOKEN": token})).run_cycle().outcomes
    assert outcome.result is Result.FAILED
    assert f"secret/data/langsmith/{world.name}" in outcome.message and "no key was created" in outcome.message
    assert len(world.state.all_keys()) == keys_before, "no key created, so none to delete again every backoff"


SELF_POLICY = POLICY.with_name("rotator-self-rotation-policy.hcl")


def self_rotation_settings(world: PolicyWorld) -> Settings:
    """The admin key is the managed secret: `self: true`, at the org's api_key.vault path."""
    return settings_for(world, {"name": world.name, "org": "acme", "self": True, "grace_period": "0"})


def test_with_the_self_rotation_policy_the_rotator_rotates_its_own_key(policy_world: PolicyWorld) -> None:
    world = policy_world
    world.openbao.write_policy("langsmith-rotator", POLICY.read_text())
    world.openbao.write_policy("langsmith-rotator-self", SELF_POLICY.read_text())
    token = world.openbao.create_token(["langsmith-rotator", "langsmith-rotator-self"])
    admin_before = world.openbao.root_client().secrets.kv.v2.read_secret_version(
        path=world.admin_path, mount_point="secret", raise_on_deleted_version=False
    )["data"]["data"]["api_key"]
    runtime = Rotator(build_services(self_rotation_settings(world), {"TOKEN": token}))
    with capture_logs() as logs:
        outcome = runtime.run_secret(runtime.settings.managed[0], dry_run=False, force=True)
        second = runtime.run_cycle()
    assert outcome.result is Result.COMPLETED, outcome.message
    assert all(o.ok for o in second.outcomes) and not second.report.failed_orgs, "it polls with its new key"
    stored = KvStore(vault_session(runtime)).read(world.admin_path)
    assert stored is not None and stored.data["api_key"] != admin_before
    old = world.state.key_for_secret(admin_before)
    assert old is not None and old.deleted_at is not None
    assert [entry for entry in logs if "permission" in repr(entry).lower()] == []


def test_without_the_self_rotation_policy_its_own_key_is_left_alone(policy_world: PolicyWorld) -> None:
    world = policy_world
    world.openbao.write_policy("langsmith-rotator", POLICY.read_text())
    token = world.openbao.create_token(["langsmith-rotator"])
    keys_before = len(world.state.all_keys())
    runtime = Rotator(build_services(self_rotation_settings(world), {"TOKEN": token}))
    outcome = runtime.run_secret(runtime.settings.managed[0], dry_run=False, force=True)
    assert outcome.result is Result.FAILED
    assert f"secret/data/{world.admin_path}" in outcome.message and "no key was created" in outcome.message
    assert len(world.state.all_keys()) == keys_before

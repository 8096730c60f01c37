"""The shipped Vault policy is exactly enough: a token holding only it rotates a key end to end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rotator.cycle import Runtime
from rotator.rotation import Result
from rotator.sandbox import SandboxClock, SandboxServer, SandboxState
from rotator.sandbox.openbao import OpenBaoDevServer
from rotator.sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_ADMIN, WORKSPACE_EDITOR
from rotator.settings import Settings
from rotator.vault import VaultPermissionError

pytestmark = pytest.mark.integration

POLICY = Path(__file__).parent.parent / "deploy" / "vault" / "rotator-policy.hcl"


@pytest.fixture
def sandbox_now() -> Iterator[tuple[SandboxServer, SandboxState]]:
    state = SandboxState(SandboxClock())
    with SandboxServer(state) as server:
        yield server, state


def test_a_token_with_only_the_shipped_policy_can_rotate(
    openbao: OpenBaoDevServer, sandbox_now: tuple[SandboxServer, SandboxState]
) -> None:
    server, state = sandbox_now
    now = datetime.now(UTC)
    org = state.add_org("Acme")
    production = state.add_workspace(org.id, "production")
    admin = state.add_service_key(org.id, org_role_id=BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id)
    old = state.add_service_key(
        org.id,
        workspace_ids=[production.id],
        role_id=BUILTIN_BY_NAME[WORKSPACE_EDITOR].id,
        description="policy-test",
        created_at=now - timedelta(days=88),
        expires_at=now + timedelta(days=2),
    )
    openbao.write_policy("langsmith-rotator", POLICY.read_text())
    token = openbao.create_token(["langsmith-rotator"])
    name = f"policy-{uuid.uuid4().hex[:8]}"
    admin_path = f"langsmith-rotator/admin/{name}"
    openbao.root_client().secrets.kv.v2.create_or_update_secret(
        path=admin_path, secret={"api_key": admin.secret}, mount_point="secret"
    )
    settings = Settings.model_validate(
        {
            "orgs": [
                {
                    "name": "acme",
                    "endpoint": server.api_url,
                    "organization_id": org.id,
                    "api_key": {"vault": {"path": admin_path}},
                }
            ],
            "vault": {"address": openbao.address, "auth": {"method": "token", "token": {"env": "TOKEN"}}},
            "managed": [
                {
                    "name": name,
                    "org": "acme",
                    "path": f"langsmith/{name}",
                    "adopt": {"key_id": old.id},
                    "grace_period": 0,
                }
            ],
        }
    )
    runtime = Runtime(settings, {"TOKEN": token})
    (outcome,) = runtime.run_cycle().outcomes
    assert outcome.result is Result.COMPLETED, outcome.message
    stored = runtime.kv().read(f"langsmith/{name}")
    assert stored is not None
    record = state.key(str(stored.data["key_id"]))
    assert record is not None and record.deleted_at is None
    assert state.key(old.id) is not None and state.key(old.id).deleted_at is not None  # type: ignore[union-attr]
    assert stored.custom_metadata["previous_key_id"] == old.id

    with pytest.raises(VaultPermissionError, match="permission denied"):
        runtime.kv().write(f"elsewhere/{name}", {"x": "y"}, cas=0)

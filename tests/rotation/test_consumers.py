"""Consumers pick up a rotated key: the shipped Vault Agent template, rendered by a real `bao agent` against
OpenBao, holds the old key, then the new one within its render interval, long before the old one is deleted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rotator.rotation import Result
from tests.support.openbao import require_bao
from tests.support.polling import wait_for
from tests.support.rotation_world import World, assert_i1

pytestmark = pytest.mark.integration

CONSUMERS = Path(__file__).parent.parent.parent / "deploy" / "consumers"
SHIPPED_PATH = "secret/data/langsmith/chatbot-prod"


def agent_config(world: World, directory: Path) -> Path:
    """The shipped agent config's template and interval, with a token file standing in for Kubernetes auth."""
    template = directory / "langsmith.ctmpl"
    template.write_text(
        (CONSUMERS / "vault-agent.ctmpl").read_text().replace(SHIPPED_PATH, f"secret/data/{world.path()}")
    )
    token = directory / "token"
    token.write_text(world.bao.root_token)
    config = directory / "agent.hcl"
    config.write_text(
        f"""
vault {{ address = "{world.bao.address}" }}
auto_auth {{ method "token_file" {{ config = {{ token_file_path = "{token}" }} }} }}
template_config {{ static_secret_render_interval = "1s" }}
template {{
  source      = "{template}"
  destination = "{directory / "langsmith.env"}"
  perms       = "0400"
}}
"""
    )
    return config


def test_vault_agent_renders_the_new_key_before_the_old_one_goes(world: World, tmp_path: Path) -> None:
    assert "static_secret_render_interval" in (CONSUMERS / "vault-agent.hcl").read_text()
    bao = require_bao()
    old = world.managed_key()
    rendered = tmp_path / "langsmith.env"
    agent = subprocess.Popen(
        [bao, "agent", f"-config={agent_config(world, tmp_path)}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: rendered.exists() and rendered.read_text() == f"LANGSMITH_API_KEY={old.secret}\n",
            timeout=20,
            what="the agent rendering the old key",
        )

        [outcome] = world.run(world.managed(key=old))

        assert outcome.result is Result.ROTATED, outcome.message
        new = assert_i1(world)
        new_secret = world.stored().data["api_key"]
        wait_for(
            lambda: rendered.read_text() == f"LANGSMITH_API_KEY={new_secret}\n",
            timeout=20,
            what="the agent rendering the new key",
        )
        assert world.live_key(old.id), "the old key is still there: consumers had the grace period to switch"
        assert new.id != old.id
    finally:
        agent.terminate()
        agent.wait(timeout=10)

"""Vault settings: address, auth methods, mounts and the state prefix; the lease."""

from __future__ import annotations

from pathlib import Path

import pytest

from rotator.config import load_settings
from tests.support.config_files import MANAGED_BASE, ORG, ORG_ID, problems, write


@pytest.mark.parametrize(
    ("vault", "expected"),
    [
        ("{address: vault.example}", "vault.address: 'vault.example' is not an http(s) URL"),
        ('{address: "http://v:8200", auth: {method: ldap}}', "vault.auth: Input tag 'ldap' found using 'method'"),
        (
            '{address: "http://v:8200", auth: {method: approle, role_id: {env: R}}}',
            "vault.auth.approle.secret_id: required",
        ),
        ('{address: "http://v:8200", auth: {method: kubernetes}}', "vault.auth.kubernetes.role: required"),
        (
            '{address: "http://v:8200", auth: {method: token, token: {env: A, file: /t}}}',
            "vault.auth.token.token.env: give exactly one of env, file or vault",
        ),
        ('{address: "http://v:8200", state_prefix: "/bad//prefix"}', "vault.state_prefix: String should match pattern"),
    ],
)
def test_malformed_vault_settings_name_field(tmp_path: Path, vault: str, expected: str) -> None:
    text = MANAGED_BASE.replace('vault: {address: "http://127.0.0.1:8200"}', f"vault: {vault}")
    found = problems(tmp_path, text)
    assert any(p.startswith(expected) for p in found), found


def test_nested_vault_paths_and_mounts_load(tmp_path: Path) -> None:
    text = (
        f"orgs: [{{name: acme, organization_id: {ORG_ID}, api_key: {{vault: {{path: admin/acme, mount: kv/ops}}}}}}]\n"
        "vault: {address: 'http://v:8200', kv_mount: kv/team-a, state_prefix: rotator/state.v2}\n"
        "managed: [{name: b, org: acme, path: apps/chat-bot.prod/key, mount: kv/apps, adopt: {description: b}}]\n"
    )
    settings = load_settings(write(tmp_path, text), environ={})
    assert settings.vault is not None
    assert (settings.vault.kv_mount, settings.vault.state_prefix) == ("kv/team-a", "rotator/state.v2")
    assert (settings.managed[0].mount, settings.managed[0].path) == ("kv/apps", "apps/chat-bot.prod/key")


def test_a_lease_shorter_than_15s_names_the_field(tmp_path: Path) -> None:
    found = problems(tmp_path, f"orgs: [{ORG}]\nlease: {{ttl: 5s}}\n")
    assert any(p.startswith("lease.ttl: must be at least 15s") for p in found), found

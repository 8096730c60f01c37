"""The vault config → a Vault session with the right auth method and credentials, logging in for real."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.bootstrap.vault import connect_vault
from rotator.config import ConfigError, VaultSettings
from rotator.secrets import SecretResolver
from rotator.vault.auth import AppRoleAuth, KubernetesAuth, TokenAuth
from rotator.vault.session import VaultSession

pytestmark = pytest.mark.integration


def connect(settings: VaultSettings, environ: Mapping[str, str]) -> VaultSession:
    return connect_vault(settings, SecretResolver(environ))


def settings(openbao: OpenBaoDevServer, auth: Mapping[str, object]) -> VaultSettings:
    return VaultSettings.model_validate({"address": openbao.address, "auth": auth})


def test_token_from_the_environment_logs_in(openbao: OpenBaoDevServer) -> None:
    session = connect(settings(openbao, {"method": "token"}), {"VAULT_TOKEN": openbao.root_token})
    assert isinstance(session.auth, TokenAuth)
    assert session.health().ok


def test_token_file_is_passed_as_a_file_and_read_at_login(openbao: OpenBaoDevServer, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(openbao.root_token + "\n")
    session = connect(settings(openbao, {"method": "token", "token": {"file": str(token_file)}}), {})
    assert session.auth.description == f"token from {token_file}"
    assert session.health().ok


def test_approle_from_env_and_file(openbao: OpenBaoDevServer, tmp_path: Path) -> None:
    credentials = openbao.create_approle("connect-test", ["default"])
    secret_file = tmp_path / "secret-id"
    secret_file.write_text(credentials.secret_id)
    auth = {"method": "approle", "role_id": {"env": "ROLE_ID"}, "secret_id": {"file": str(secret_file)}}
    session = connect(settings(openbao, auth), {"ROLE_ID": credentials.role_id})
    assert isinstance(session.auth, AppRoleAuth)
    assert session.health().ok


def test_kubernetes_settings_carry_role_jwt_file_and_mount(openbao: OpenBaoDevServer) -> None:
    auth = {"method": "kubernetes", "role": "rotator", "jwt_file": "/var/run/jwt", "mount": "k8s-east"}
    session = connect(settings(openbao, auth), {})
    assert isinstance(session.auth, KubernetesAuth)
    assert (session.auth.role, str(session.auth.jwt_file), session.auth.mount) == (
        "rotator",
        "/var/run/jwt",
        "k8s-east",
    )


def test_missing_token_variable_is_a_config_error(openbao: OpenBaoDevServer) -> None:
    with pytest.raises(ConfigError, match="VAULT_TOKEN: environment variable is not set"):
        connect(settings(openbao, {"method": "token"}), {})


def test_a_vault_credential_cannot_come_from_vault(openbao: OpenBaoDevServer) -> None:
    auth = {"method": "token", "token": {"vault": {"path": "x"}}}
    with pytest.raises(ConfigError, match="cannot come from Vault itself"):
        connect(settings(openbao, auth), {})

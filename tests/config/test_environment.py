"""Settings from the environment: the LANGSMITH_* variables alone, and Vault defaults beside a config file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rotator.config import ConfigError, load_settings
from tests.support.config_files import ORG, ORG_ID, managed, problems, write


def test_defaults_from_environment_only() -> None:
    settings = load_settings(environ={"LANGSMITH_API_KEY": "x", "LANGSMITH_ORGANIZATION_ID": ORG_ID})
    (org,) = settings.orgs
    assert org.endpoint == "https://api.smith.langchain.com"
    assert str(org.organization_id) == ORG_ID
    assert org.api_key.env == "LANGSMITH_API_KEY"
    policy = settings.policy_for(org)
    assert (policy.warn_before, policy.critical_before, policy.max_age) == (
        timedelta(days=21),
        timedelta(days=7),
        timedelta(days=90),
    )
    assert settings.poll_interval == timedelta(minutes=15)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("https://eu.api.smith.langchain.com/", "https://eu.api.smith.langchain.com"),
        ("https://aws.api.smith.langchain.com/api/v1", "https://aws.api.smith.langchain.com"),
        ("http://127.0.0.1:1984/api/v1/", "http://127.0.0.1:1984"),
        ("http://localhost:8080/api", "http://localhost:8080"),
    ],
)
def test_endpoint_from_environment_is_normalized(endpoint: str, expected: str) -> None:
    env = {"LANGSMITH_ENDPOINT": endpoint, "LANGSMITH_WORKSPACE_ID": ORG_ID}
    assert load_settings(environ=env).orgs[0].endpoint == expected


def test_environment_errors_name_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"LANGSMITH_ENDPOINT": "ftp://x", "LANGSMITH_ORGANIZATION_ID": "not-a-uuid"})
    text = str(caught.value)
    assert "config error: LANGSMITH_ENDPOINT: 'ftp://x' is not an http(s) URL" in text
    assert "config error: LANGSMITH_ORGANIZATION_ID: " in text


def test_config_file_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, f"orgs: [{{name: a, organization_id: {ORG_ID}}}]\n")
    assert load_settings(environ={"ROTATOR_CONFIG": str(path)}).orgs[0].name == "a"


def test_vault_settings_default_from_the_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        managed("{name: bot, org: acme, path: langsmith/bot, adopt: {description: bot}}").replace(
            'vault: {address: "http://127.0.0.1:8200"}\n', ""
        ),
    )
    settings = load_settings(path, environ={"VAULT_ADDR": "https://vault.example:8200/", "VAULT_NAMESPACE": "team-a"})
    assert settings.vault is not None
    assert (settings.vault.address, settings.vault.namespace) == ("https://vault.example:8200", "team-a")
    assert settings.vault.auth.method == "token"
    (secret,) = settings.managed
    assert (secret.field, secret.grace_period, secret.max_grace) == ("api_key", timedelta(hours=24), timedelta(days=7))


def test_a_sink_secret_in_vault_takes_vault_settings_from_the_environment(tmp_path: Path) -> None:
    text = f"orgs: [{ORG}]\nalerts: {{sinks: [{{type: slack, webhook_url: {{vault: {{path: hooks/slack}}}}}}]}}\n"
    settings = load_settings(write(tmp_path, text), environ={"VAULT_ADDR": "https://vault.example:8200"})
    assert settings.vault is not None
    assert settings.vault.address == "https://vault.example:8200"
    found = problems(tmp_path, text)
    assert found == ["vault.address: required field is missing"], found


def test_environment_mode_discovers_and_keeps_the_sdk_workspace_only_as_a_fallback() -> None:
    workspace = "0f0e0d0c-0b0a-4000-8000-000000000001"
    settings = load_settings(None, {"LANGSMITH_API_KEY": "k", "LANGSMITH_WORKSPACE_ID": workspace})
    (org,) = settings.orgs
    assert settings.from_environment and org.discovered
    assert str(org.fallback_workspace_id) == workspace and org.workspace_id is None


def test_environment_mode_speaks_of_variables_for_insecure_http() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"LANGSMITH_API_KEY": "k", "LANGSMITH_ENDPOINT": "http://langsmith.internal/api/v1"})
    (problem,) = caught.value.problems
    assert problem.startswith("LANGSMITH_ENDPOINT:") and "set LANGSMITH_ALLOW_INSECURE_HTTP=true" in problem
    allowed = {"LANGSMITH_API_KEY": "k", "LANGSMITH_ENDPOINT": "http://langsmith.internal/api/v1"}
    assert load_settings(None, {**allowed, "LANGSMITH_ALLOW_INSECURE_HTTP": "true"}).orgs[0].allow_insecure_http


def test_a_malformed_environment_variable_is_a_config_error_naming_it() -> None:
    """Not a pydantic traceback: the variable, and what it should be."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"LANGSMITH_API_KEY": "lsv2_sk_x", "LANGSMITH_ALLOW_INSECURE_HTTP": "maybe"})
    [problem] = caught.value.problems
    assert problem.startswith("LANGSMITH_ALLOW_INSECURE_HTTP: ")
    assert "boolean" in problem and "maybe" not in problem

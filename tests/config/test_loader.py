"""Loading settings: every example config, and every problem in a file reported at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rotator.config import load_settings
from tests.support.config_files import CONFIG_DIR, problems


@pytest.mark.parametrize("example", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_config_loads(example: Path) -> None:
    settings = load_settings(example, environ={})
    assert settings.orgs
    assert all(org.endpoint.startswith("https://") for org in settings.orgs)


def test_multi_region_example_normalizes_self_hosted_endpoint_and_keeps_overrides() -> None:
    settings = load_settings(CONFIG_DIR / "multi-region.yaml", environ={})
    by_name = {org.name: org for org in settings.orgs}
    assert by_name["research-selfhosted"].endpoint == "https://langsmith.internal.example.com"
    assert by_name["acme-eu"].endpoint == "https://eu.api.smith.langchain.com"
    assert settings.policy_for(by_name["research-selfhosted"]).warn_before == timedelta(days=14)
    assert settings.policy_for(by_name["acme-us"]).warn_before == timedelta(days=30)


def test_managed_example_has_vault_auth_adoption_and_grace() -> None:
    settings = load_settings(CONFIG_DIR / "managed-rotation.yaml", environ={})
    assert settings.vault is not None
    assert settings.vault.auth.method == "kubernetes"
    chatbot, eval_runner = settings.managed
    assert chatbot.adopt is not None
    assert (chatbot.adopt.description, chatbot.rotate_before, chatbot.grace_period) == (
        "chatbot-prod",
        timedelta(days=14),
        timedelta(hours=24),
    )
    assert (eval_runner.field, eval_runner.lifetime, eval_runner.grace_period) == (
        "LANGSMITH_API_KEY",
        timedelta(days=90),
        timedelta(hours=24),
    )
    assert settings.orgs[0].api_key.vault is not None
    assert [sink.type for sink in settings.alerts.sinks] == ["slack", "pagerduty", "alertmanager"]
    assert settings.rotation_window is not None
    window = settings.rotation_window.to_window()
    assert (window.weekdays, window.start_minute, window.end_minute) == (frozenset({0, 1, 2, 3}), 540, 1020)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, "orgs: [{name: A}]\npoll_interval: x\n")
    assert any(p.startswith("poll_interval:") for p in found)
    assert any(p.startswith("orgs[0].name:") for p in found)

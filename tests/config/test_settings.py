"""The whole config: top-level fields, and problems across sections, reported together."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from rotator.config import ConfigError, Settings, load_settings
from tests.support.config_files import MANAGED_BASE, ORG, ORG_ID, problems, write


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"orgs: [{ORG}]\nsurprise: 1\n", "surprise: unknown field"),
        ("orgs: []\n", "orgs: List should have at least 1 item"),
        ("policy: {}\n", "orgs: required field is missing"),
        (f"orgs: [{ORG}]\npoll_interval: 5s\n", "poll_interval: must be at least 10s"),
        (f"orgs: [{ORG}, {ORG}]\n", "orgs: org names must be unique; repeated: a"),
    ],
)
def test_malformed_config_names_field_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    assert any(p.startswith(expected) for p in problems(tmp_path, text)), problems(tmp_path, text)


def test_managed_secrets_without_vault_are_an_error(tmp_path: Path) -> None:
    text = (
        f"orgs: [{{name: acme, organization_id: {ORG_ID}}}]\n"
        "managed: [{name: b, org: acme, path: p, adopt: {description: b}}]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    assert any(p.startswith("vault.address: required field is missing") for p in caught.value.problems), (
        caught.value.problems
    )


def test_one_vault_place_written_two_ways_is_refused(tmp_path: Path) -> None:
    text = MANAGED_BASE + (
        "managed:\n"
        "  - {name: a, org: acme, path: apps/x, mount: secret, adopt: {description: a}}\n"
        "  - {name: b, org: acme, path: apps/x, mount: other, adopt: {description: b}}\n"
        "  - {name: c, org: acme, path: apps/x, adopt: {description: c}}\n"
    )
    assert problems(tmp_path, text) == [
        "managed: 2 secrets share one Vault path (secret/apps/x: managed[0] and managed[2])"
    ]


def test_same_path_on_other_mounts_is_allowed(tmp_path: Path) -> None:
    text = MANAGED_BASE.replace('8200"}', '8200", kv_mount: kv}') + (
        "managed:\n"
        "  - {name: a, org: acme, path: apps/x, mount: secret, adopt: {description: a}}\n"
        "  - {name: b, org: acme, path: apps/x, adopt: {description: b}}\n"
    )
    assert [s.mount for s in load_settings(write(tmp_path, text), environ={}).managed] == ["secret", None]


def test_every_cross_field_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = MANAGED_BASE + (
        "managed:\n"
        "  - {name: a, org: nope, path: apps/a, adopt: {description: a}}\n"
        "  - {name: a, org: team, path: apps/b, adopt: {description: b}}\n"
        "  - {name: c, org: acme, path: apps/b, mount: secret, adopt: {description: c}}\n"
    )
    assert problems(tmp_path, text) == [
        "managed[0].org: no org named 'nope' (known: acme, team)",
        "managed[1].org: org 'team' needs organization_id to manage keys",
        "managed: names must be unique; repeated: a",
        "managed: 2 secrets share one Vault path (secret/apps/b: managed[1] and managed[2])",
    ]


def test_cross_field_problems_raise_from_model_validate_with_their_fields() -> None:
    config = {
        "orgs": [{"name": "acme", "organization_id": ORG_ID}],
        "managed": [{"name": "a", "org": "nope", "path": "p", "adopt": {"description": "a"}}],
    }
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(config)
    assert [(e["loc"], e["msg"]) for e in caught.value.errors()] == [
        (("managed", 0, "org"), "no org named 'nope' (known: acme)"),
        (("vault",), "managed secrets and Vault references need vault settings (or VAULT_ADDR)"),
    ]


def test_two_secrets_may_not_adopt_one_key(tmp_path: Path) -> None:
    """Their sagas run at once: two adopting one key would each rotate it, and each delete the other's work."""
    key_id = "6f1c7d8e-1111-4000-8000-000000000002"
    text = MANAGED_BASE + (
        "managed:\n"
        f"  - {{name: a, org: acme, path: apps/a, adopt: {{key_id: {key_id}}}}}\n"
        "  - {name: b, org: acme, path: apps/b, adopt: {description: b}}\n"
        f"  - {{name: c, org: acme, path: apps/c, adopt: {{key_id: {key_id}}}}}\n"
    )
    assert problems(tmp_path, text) == [f"managed: 2 secrets adopt one key ({key_id}: managed[0] and managed[2])"]

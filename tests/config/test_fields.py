"""The shared field types: durations and Vault paths, wherever in the config they appear."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from rotator.config import Settings, load_settings
from tests.support.config_files import DAY, ORG, ORG_ID, managed, problems, write


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("poll_interval: 99999999999d", "poll_interval"),
        ("policy: {max_age: 999999999999999s}", "policy.max_age"),
        ("http: {timeout: 99999999999d}", "http.timeout"),
        ("lease: {ttl: 99999999999d}", "lease.ttl"),
        ("alerts: {renotify_interval: 99999999999d}", "alerts.renotify_interval"),
    ],
)
def test_huge_durations_are_too_long(tmp_path: Path, section: str, field: str) -> None:
    found = problems(tmp_path, f"orgs: [{ORG}]\n{section}\n")
    assert found == [f"{field}: is too long: durations are at most 36500d (100 years)"], found


def test_a_century_is_still_a_duration(tmp_path: Path) -> None:
    path = write(tmp_path, f"orgs: [{ORG}]\npolicy: {{max_age: 36500d}}\n")
    assert load_settings(path, environ={}).policy.max_age == timedelta(days=36500)


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("http: {timeout: 0}", "http.timeout"),
        ("http: {timeout: 0s}", "http.timeout"),
        ('vault: {address: "http://v:8200", timeout: 0}', "vault.timeout"),
        ('vault: {address: "http://v:8200", timeout: 0m}', "vault.timeout"),
    ],
)
def test_zero_timeouts_are_refused(tmp_path: Path, section: str, field: str) -> None:
    assert problems(tmp_path, f"orgs: [{ORG}]\n{section}\n") == [f"{field}: must be longer than 0"]


def test_negative_durations_given_directly_are_refused() -> None:
    with pytest.raises(ValidationError, match="must not be negative"):
        Settings.model_validate({"orgs": [{"name": "a", "organization_id": ORG_ID}], "http": {"timeout": -DAY}})


BAD_PATHS = ["a//b", "a/../b", "./a", "a/.", "..", ".", "/a", "a/", "", "a b", " a", "a\\tb", "a\\x01b", "a\\x7fb"]


VAULT_PLACES = {
    "managed[0].path": lambda bad: managed(f"{{name: b, org: acme, path: {bad}, adopt: {{description: b}}}}"),
    "managed[0].mount": lambda bad: managed(
        f"{{name: b, org: acme, path: p, mount: {bad}, adopt: {{description: b}}}}"
    ),
    "vault.kv_mount": lambda bad: f"orgs: [{ORG}]\nvault: {{address: 'http://v:8200', kv_mount: {bad}}}\n",
    "vault.state_prefix": lambda bad: f"orgs: [{ORG}]\nvault: {{address: 'http://v:8200', state_prefix: {bad}}}\n",
    "vault.auth.kubernetes.mount": lambda bad: (
        f"orgs: [{ORG}]\nvault: {{address: 'http://v:8200', auth: {{method: kubernetes, role: r, mount: {bad}}}}}\n"
    ),
    "orgs[0].api_key.vault.path": lambda bad: (
        f"orgs: [{{name: a, organization_id: {ORG_ID}, api_key: {{vault: {{path: {bad}}}}}}}]\n"
        "vault: {address: 'http://v:8200'}\n"
    ),
    "orgs[0].api_key.vault.mount": lambda bad: (
        f"orgs: [{{name: a, organization_id: {ORG_ID}, api_key: {{vault: {{path: p, mount: {bad}}}}}}}]\n"
        "vault: {address: 'http://v:8200'}\n"
    ),
}


@pytest.mark.parametrize("bad", BAD_PATHS)
@pytest.mark.parametrize("field", VAULT_PLACES)
def test_malformed_vault_paths_name_the_field(tmp_path: Path, field: str, bad: str) -> None:
    found = problems(tmp_path, VAULT_PLACES[field](f'"{bad}"'))
    assert len(found) == 1, found
    assert found[0].startswith(f"{field}: "), found

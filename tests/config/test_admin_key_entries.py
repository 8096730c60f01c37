"""A managed entry may be the rotator's own admin key: `self: true`, or the org's api_key.vault path. It is
refused where the rotator could not switch to the new key: an admin key from the environment or a file, another
org's path, or another field of the admin key's secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from rotator.config import load_settings
from tests.support.config_files import ORG_ID, problems, write

VAULT_ADMIN = f"""
vault: {{address: "http://127.0.0.1:8200", kv_mount: kv}}
orgs:
  - name: acme
    organization_id: {ORG_ID}
    api_key: {{vault: {{path: langsmith/rotator-admin, field: key}}}}
  - name: other
    organization_id: {ORG_ID}
    api_key: {{vault: {{path: langsmith/other-admin}}}}
managed:
"""


def test_self_stores_the_new_key_where_the_rotator_reads_its_own(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VAULT_ADMIN + "  - {name: admin, org: acme, self: true}\n"), environ={})
    [entry] = settings.managed
    assert (entry.path, entry.field, entry.manages_admin_key, entry.adopt) == (
        "langsmith/rotator-admin",
        "key",
        True,
        None,
    )


def test_an_entry_at_the_admin_keys_path_and_field_is_the_admin_key(tmp_path: Path) -> None:
    text = VAULT_ADMIN + "  - {name: admin, org: acme, path: langsmith/rotator-admin, field: key}\n"
    [entry] = load_settings(write(tmp_path, text), environ={}).managed
    assert entry.manages_admin_key


def test_another_path_is_not_the_admin_key(tmp_path: Path) -> None:
    text = VAULT_ADMIN + "  - {name: app, org: acme, path: langsmith/app}\n"
    [entry] = load_settings(write(tmp_path, text), environ={}).managed
    assert not entry.manages_admin_key


@pytest.mark.parametrize(
    ("api_key", "source"),
    [("{env: ROTATOR_KEY}", "an environment variable"), ("{file: /run/secrets/key}", "a file")],
)
def test_self_is_refused_when_the_admin_key_is_not_in_vault(tmp_path: Path, api_key: str, source: str) -> None:
    text = f"""
vault: {{address: "http://127.0.0.1:8200"}}
orgs: [{{name: acme, organization_id: {ORG_ID}, api_key: {api_key}}}]
managed: [{{name: admin, org: acme, self: true}}]
"""
    assert problems(tmp_path, text) == [
        f"managed[0].self: org 'acme' reads its admin key from {source}, where the rotator cannot store a new one: "
        "rotating its own admin key needs the org's api_key.vault"
    ]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "{name: admin, org: acme, self: true, path: langsmith/elsewhere}",
            "managed[0].path: must be the org's api_key.vault path, where the rotator reads its admin key",
        ),
        (
            "{name: app, org: acme, path: langsmith/other-admin}",
            "managed[0].path: is where orgs[1] ('other') keeps its admin key",
        ),
        (
            "{name: app, org: acme, path: langsmith/rotator-admin}",
            "managed[0].field: the path holds orgs[0]'s admin key in field 'key'; a rotation rewrites the whole "
            "secret, so give this key a path of its own or the same field",
        ),
    ],
)
def test_an_entry_that_would_strand_an_admin_key_is_refused(tmp_path: Path, entry: str, expected: str) -> None:
    assert problems(tmp_path, VAULT_ADMIN + f"  - {entry}\n") == [expected]


def test_an_org_name_of_the_wrong_type_is_named_not_a_crash(tmp_path: Path) -> None:
    """Found by fuzzing: the self-rotation defaults looked orgs up by name before the names were validated."""
    text = f"""
vault: {{address: "http://127.0.0.1:8200"}}
orgs: [{{name: [a, b], organization_id: {ORG_ID}, api_key: {{env: K}}}}]
managed: [{{name: admin, org: [a, b], self: true}}]
"""
    found = problems(tmp_path, text)
    assert any(line.startswith("orgs[0].name: ") for line in found), found

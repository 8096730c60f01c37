"""Seeding from YAML: the demo seed, relative times, references and errors."""

from datetime import timedelta
from pathlib import Path

import pytest

from langsmith_sandbox import DEMO_SEED, SandboxState, SeedError, load_seed, load_seed_file
from langsmith_sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_ADMIN, WORKSPACE_ADMIN, WORKSPACE_EDITOR
from tests.support.orgs import SANDBOX_T0


def test_the_demo_seed_has_keys_in_every_state(sandbox_state: SandboxState) -> None:
    result = load_seed_file(sandbox_state, DEMO_SEED)
    assert list(result.org_ids) == ["Acme"]
    assert list(result.workspace_ids) == ["production", "staging", "research"]
    keys = {name: sandbox_state.key(key_id) for name, key_id in result.key_ids.items()}
    lifetimes = {
        name: None if key is None or key.expires_at is None else key.expires_at - SANDBOX_T0
        for name, key in keys.items()
    }
    assert lifetimes == {
        "rotator": timedelta(days=300),
        "analytics-export": timedelta(days=60),
        "staging-evals": timedelta(days=15),
        "prod-tracing": timedelta(days=3),
        "prod-batch-legacy": timedelta(days=-2),
        "research-notebooks": None,
        "old-dashboard": None,
        "shared-ci": timedelta(days=50),
        "alice-laptop": timedelta(days=14),
        "bob-notebook": timedelta(days=120),
    }
    ages = {name: SANDBOX_T0 - key.created_at for name, key in keys.items() if key is not None}
    assert (ages["research-notebooks"], ages["old-dashboard"]) == (timedelta(days=20), timedelta(days=200))
    shared = keys["shared-ci"]
    assert shared is not None
    assert shared.workspace_ids == (result.workspace_ids["production"], result.workspace_ids["staging"])
    assert shared.role_id == BUILTIN_BY_NAME[WORKSPACE_EDITOR].id
    assert [key.kind for key in keys.values() if key is not None].count("personal_access_token") == 2


def test_the_demo_seed_reveals_the_admin_key_alices_pat_and_the_managed_key(sandbox_state: SandboxState) -> None:
    result = load_seed_file(sandbox_state, DEMO_SEED)
    assert set(result.revealed) == {"rotator", "alice-laptop", "prod-tracing"}
    admin, alice = result.revealed["rotator"], result.revealed["alice-laptop"]
    record = sandbox_state.key_for_secret(admin.secret)
    assert record is not None
    assert (record.id, record.org_role_id) == (result.key_ids["rotator"], BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id)
    assert sandbox_state.key_for_secret(alice.secret) == sandbox_state.key(result.key_ids["alice-laptop"])
    assert admin.organization_id == alice.organization_id == result.org_ids["Acme"]
    assert admin.secret not in repr(result)
    assert alice.secret not in repr(result)


def test_times_are_relative_to_the_sandbox_clock(sandbox_state: SandboxState) -> None:
    seed = """
orgs:
  - name: T
    workspaces: [{name: w, created_ago: 1d12h}]
    service_keys:
      - {name: k, created_ago: 90m, expired_ago: 30s, last_used_ago: 45s}
      - {name: fresh}
"""
    result = load_seed(sandbox_state, seed)
    workspace = sandbox_state.workspace(result.workspace_ids["w"])
    key = sandbox_state.key(result.key_ids["k"])
    fresh = sandbox_state.key(result.key_ids["fresh"])
    assert workspace is not None
    assert key is not None
    assert fresh is not None
    assert workspace.created_at == SANDBOX_T0 - timedelta(hours=36)
    assert (key.created_at, key.expires_at, key.last_used_at) == (
        SANDBOX_T0 - timedelta(minutes=90),
        SANDBOX_T0 - timedelta(seconds=30),
        SANDBOX_T0 - timedelta(seconds=45),
    )
    assert (fresh.created_at, fresh.expires_at, fresh.last_used_at) == (SANDBOX_T0, None, None)
    assert fresh.description == "fresh"
    assert fresh.role_id is None  # an org-wide key has no workspace role unless given one


def test_duplicate_workspace_names_need_refs(sandbox_state: SandboxState) -> None:
    seed = {
        "orgs": [
            {
                "name": "Twins",
                "workspaces": [{"name": "staging"}, {"name": "staging", "ref": "staging-eu"}],
                "roles": [{"name": "Auditor", "access_scope": "workspace", "permissions": ["workspaces:read"]}],
                "users": [{"email": "a@twins.example", "workspaces": {"staging-eu": "Auditor"}}],
                "service_keys": [{"name": "eu", "workspaces": ["staging-eu"], "role": "WORKSPACE_ADMIN"}],
            }
        ]
    }
    result = load_seed(sandbox_state, seed)
    assert list(result.workspace_ids) == ["staging", "staging-eu"]
    key = sandbox_state.key(result.key_ids["eu"])
    assert key is not None
    assert (key.workspace_ids, key.role_id) == (
        (result.workspace_ids["staging-eu"],),
        BUILTIN_BY_NAME[WORKSPACE_ADMIN].id,
    )
    user = sandbox_state.user(result.user_ids["a@twins.example"])
    assert user is not None
    role = sandbox_state.role(user.workspace_roles[result.workspace_ids["staging-eu"]])
    assert role is not None
    assert (role.name, role.display_name) == ("CUSTOM", "Auditor")


@pytest.mark.parametrize(
    ("seed", "problem"),
    [
        ("orgs: [{name: A, colour: red}]", r"seed.orgs\[0\]: unknown field\(s\) colour"),
        ("orgs: [{}]", r"orgs\[0\].name: required text"),
        ("orgs: [{name: A}, {name: A}]", "appears twice"),
        ("orgs: [{name: A, workspaces: [{name: w}, {name: w}]}]", r"workspaces\[1\].ref: 'w' appears twice"),
        ("orgs: [{name: A, service_keys: [{name: k, workspaces: [nope]}]}]", "no workspace with ref 'nope'"),
        ("orgs: [{name: A, service_keys: [{name: k, org_role: Boss}]}]", "no organization role matches 'Boss'"),
        ("orgs: [{name: A, service_keys: [{name: k, role: Organization Admin}]}]", "no workspace role matches"),
        ("orgs: [{name: A, service_keys: [{name: k, expires_in: 2d, expired_ago: 1d}]}]", "not both"),
        ("orgs: [{name: A, service_keys: [{name: k, expires_in: soon}]}]", "expires_in: 'soon' is not a duration"),
        ("orgs: [{name: A, personal_access_tokens: [{name: p, user: ghost@a.example}]}]", "no user"),
        ("orgs: [{name: A, id: not-a-uuid}]", r"seed.orgs\[0\]: badly formed"),
        ("orgs: [{name: A, max_pat_expiry_days: soon}]", "whole number"),
        ("orgs: {name: A}", "must be a list"),
        ("- just a list", "must be a mapping"),
        ("orgs: [", "not valid YAML"),
        (
            "orgs: [{name: A, workspaces: [{name: w}],"
            " service_keys: [{name: k, workspaces: [w], org_role: ORG_USER}]}]",
            "workspace-scoped keys have no org role",
        ),
    ],
)
def test_seed_errors_say_where_and_what(sandbox_state: SandboxState, seed: str, problem: str) -> None:
    with pytest.raises(SeedError, match=problem):
        load_seed(sandbox_state, seed)


def test_a_failing_seed_adds_nothing(sandbox_state: SandboxState) -> None:
    seed = "orgs: [{name: A, workspaces: [{name: w}], service_keys: [{name: ok}, {name: bad, role: Nope}]}]"
    with pytest.raises(SeedError):
        load_seed(sandbox_state, seed)
    assert sandbox_state.all_keys() == []
    assert load_seed(sandbox_state, seed.replace(", role: Nope", "")).org_ids.keys() == {"A"}


def test_a_missing_seed_file_is_a_seed_error(sandbox_state: SandboxState, tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot read seed file"):
        load_seed_file(sandbox_state, tmp_path / "absent.yaml")

"""Managed secrets: adoption, pins, and timing that leaves every rotation room to finish."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rotator.config import load_settings
from tests.support.config_files import MANAGED_BASE, ORG_ID, managed, problems, write


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{name: bot, org: nope, path: p, adopt: {description: bot}}", "managed[0].org: no org named 'nope'"),
        (
            "{name: bot, org: team, path: p, adopt: {description: bot}}",
            "managed[0].org: org 'team' needs organization_id",
        ),
        (
            "{name: bot, org: acme, path: p, adopt: {}}",
            "managed[0].adopt.key_id: give exactly one of key_id or description",
        ),
        ("{name: bot, org: acme, path: p, adopt: {key_id: 1, description: x}}", "managed[0].adopt.key_id: UUID"),
        ("{name: bot, org: acme, path: /p/, adopt: {description: b}}", "managed[0].path: '/p/' has an empty"),
        (
            "{name: bot, org: acme, path: p, adopt: {description: b}, grace_period: 2d, max_grace: 1d}",
            "managed[0].max_grace: must not be shorter than grace_period",
        ),
        (
            "{name: bot, org: acme, path: p, adopt: {description: b}, lifetime: 1h}",
            "managed[0].lifetime: must be at least 1d",
        ),
        ("{name: Bot, org: acme, path: p, adopt: {description: b}}", "managed[0].name: use lowercase letters"),
        ("{name: bot, org: acme, path: p, adopt: {description: b}, grace: 1d}", "managed[0].grace: unknown field"),
        ("{name: bot, org: acme, adopt: {description: b}}", "managed[0].path: required field is missing"),
    ],
)
def test_malformed_managed_secret_names_field(tmp_path: Path, entry: str, expected: str) -> None:
    found = problems(tmp_path, managed(entry))
    assert any(p.startswith(expected) for p in found), found


def test_zero_grace_is_allowed_for_a_leaked_key(tmp_path: Path) -> None:
    path = write(tmp_path, managed("{name: bot, org: acme, path: p, adopt: {description: b}, grace_period: 0}"))
    assert load_settings(path, environ={}).managed[0].grace_period == timedelta(0)


def test_managed_secret_pins_scope_and_roles(tmp_path: Path) -> None:
    text = MANAGED_BASE + (
        "managed:\n"
        "  - {name: org-wide, org: acme, path: a, adopt: {description: a}, scope: organization,\n"
        "     role: Editor, org_role: Organization Viewer}\n"
        "  - {name: two-workspaces, org: acme, path: b, adopt: {description: b}, scope: [Production, Staging],\n"
        f"     role: {ORG_ID}}}\n"
        "  - {name: unpinned, org: acme, path: c, adopt: {description: c}}\n"
    )
    org_wide, two_workspaces, unpinned = load_settings(write(tmp_path, text), environ={}).managed
    assert (org_wide.scope, org_wide.role, org_wide.org_role) == ("organization", "Editor", "Organization Viewer")
    assert (two_workspaces.scope, two_workspaces.role, two_workspaces.org_role) == (
        ["Production", "Staging"],
        ORG_ID,
        None,
    )
    assert (unpinned.scope, unpinned.role, unpinned.org_role) == (None, None, None)


@pytest.mark.parametrize(
    ("pins", "expected"),
    [
        ("role: ''", "managed[0].role: must not be empty"),
        ("org_role: ' '", "managed[0].org_role: must not be empty"),
        ("scope: workspace", "managed[0].scope: write organization, or a list of workspace names"),
        ("scope: []", "managed[0].scope: write organization, or a list of workspace names"),
        ("scope: [Production, '']", "managed[0].scope: write organization, or a list of workspace names"),
        ("scope: [Production, 7]", "managed[0].scope: write organization, or a list of workspace names"),
        ("scope: [a, b, a]", "managed[0].scope: workspace names must be unique; repeated: a"),
        ("scope: [Production], org_role: Organization Admin", "managed[0].org_role: applies only to organization"),
    ],
)
def test_malformed_pins_name_the_field(tmp_path: Path, pins: str, expected: str) -> None:
    found = problems(tmp_path, managed(f"{{name: bot, org: acme, path: p, adopt: {{description: b}}, {pins}}}"))
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        (
            "lifetime: 30d, grace_period: 12d, max_grace: 12d",
            [
                "managed[0].grace_period: 12d is not well below the 20d between one rotation and the next",
                "managed[0].max_grace: 12d is not well below the 20d between one rotation and the next",
            ],
        ),
        (
            "lifetime: 30d, rotate_before: 20d",
            ["managed[0].max_grace: 7d is not well below the 10d between one rotation and the next"],
        ),
        ("lifetime: 30d, rotate_before: 30d", ["managed[0].rotate_before: 30d is not shorter than the key lifetime"]),
        ("lifetime: 30d, rotate_before: 0", ["managed[0].rotate_before: must be longer than 0"]),
        ("rotate_before: 0", ["managed[0].rotate_before: must be longer than 0"]),
        ("lifetime: 3651d", ["managed[0].lifetime: must be at most 3650d"]),
        (
            "lifetime: 1h, grace_period: 2d, max_grace: 1d",
            ["managed[0].max_grace: must not be shorter than grace_period", "managed[0].lifetime: must be at least 1d"],
        ),
    ],
)
def test_timing_without_room_to_finish_is_refused(tmp_path: Path, timing: str, expected: list[str]) -> None:
    found = problems(tmp_path, managed(f"{{name: bot, org: acme, path: p, adopt: {{description: b}}, {timing}}}"))
    assert len(found) == len(expected), found
    for problem, start in zip(found, expected, strict=True):
        assert problem.startswith(start), found


def test_timing_with_room_to_finish_loads(tmp_path: Path) -> None:
    entry = "{name: bot, org: acme, path: p, adopt: {description: b}, lifetime: 30d, grace_period: 5d, max_grace: 10d}"
    (secret,) = load_settings(write(tmp_path, managed(entry)), environ={}).managed
    assert (secret.lifetime, secret.rotate_before, secret.max_grace) == (timedelta(days=30), None, timedelta(days=10))


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("lifetime: 3000000d", "managed[0].lifetime"),
        ("grace_period: 99999999999d", "managed[0].grace_period"),
        ("max_grace: 99999999999999999999w", "managed[0].max_grace"),
        ("rotate_before: 36501d", "managed[0].rotate_before"),
        (f"rotate_before: {'9' * 5000}s", "managed[0].rotate_before"),
    ],
)
def test_huge_managed_durations_are_too_long(tmp_path: Path, setting: str, field: str) -> None:
    found = problems(tmp_path, managed(f"{{name: bot, org: acme, path: p, adopt: {{description: b}}, {setting}}}"))
    assert f"{field}: is too long: durations are at most 36500d (100 years)" in found, found

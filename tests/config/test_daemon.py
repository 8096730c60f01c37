"""`rotator run` settings: the rotation window and the daemon's schedule and address."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.config_files import ORG, problems


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("rotation_window: {start: '17:00', end: '09:00'}", "rotation_window.end: must be later than start"),
        ("rotation_window: {days: [someday]}", "rotation_window.days[0]: Input should be"),
        ("daemon: {cron: 'every five minutes'}", "daemon.cron: 'every five minutes' is not a crontab line"),
        ("daemon: {listen: nowhere}", "daemon.listen: String should match pattern"),
    ],
)
def test_malformed_runtime_settings_name_the_field(tmp_path: Path, section: str, expected: str) -> None:
    found = problems(tmp_path, f"orgs: [{ORG}]\n{section}\n")
    assert any(p.startswith(expected) for p in found), found

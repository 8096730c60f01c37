"""Reading the config file: unreadable files and YAML, and keys given twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from rotator.config import ConfigError, load_settings
from tests.support.config_files import ORG, ORG_ID, problems, write


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("orgs: [\n", "line 2: not valid YAML"),
        ("- just\n- a list\n", "the top level must be a mapping"),
        ("", "the top level must be a mapping"),
    ],
)
def test_unreadable_yaml_names_the_file(tmp_path: Path, text: str, expected: str) -> None:
    (problem,) = problems(tmp_path, text)
    assert problem.startswith(str(tmp_path / "rotator.yaml"))
    assert expected in problem


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yaml", environ={})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"orgs: [{ORG}]\nmanaged: []\npolicy: {{}}\nmanaged: []\n",
            ["line 4: duplicate key 'managed' (also on line 2; the earlier one would be silently ignored)"],
        ),
        (
            f"orgs:\n  - name: a\n    organization_id: {ORG_ID}\n    name: b\n",
            ["line 4: duplicate key 'name' (also on line 2; the earlier one would be silently ignored)"],
        ),
        (
            f"orgs: [{ORG}]\npolicy: {{warn_before: 1d, 'warn_before': 2d}}\nhttp: {{timeout: 1s, timeout: 2s}}\n",
            [
                "line 2: duplicate key 'warn_before' (also on line 2; the earlier one would be silently ignored)",
                "line 3: duplicate key 'timeout' (also on line 3; the earlier one would be silently ignored)",
            ],
        ),
    ],
)
def test_duplicate_yaml_keys_are_refused(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert problems(tmp_path, text) == [f"{tmp_path / 'rotator.yaml'}: {line}" for line in expected]


def test_yaml_merge_keys_may_override_what_they_merge(tmp_path: Path) -> None:
    text = f"orgs:\n  - &acme {{name: a, organization_id: {ORG_ID}}}\n  - {{<<: *acme, name: b}}\n"
    assert [org.name for org in load_settings(write(tmp_path, text), environ={}).orgs] == ["a", "b"]

"""What the config tests share: example configs, a valid org, and loading a text to see its problems."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rotator.config import ConfigError, load_settings

CONFIG_DIR = Path(__file__).parent.parent.parent / "config"
ORG_ID = "00000000-0000-4000-8000-000000000001"
DAY = timedelta(days=1)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rotator.yaml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    return caught.value.problems


ORG = f"{{name: a, organization_id: {ORG_ID}}}"


MANAGED_BASE = f"""
orgs:
  - {{name: acme, organization_id: {ORG_ID}}}
  - {{name: team, workspace_id: {ORG_ID}}}
vault: {{address: "http://127.0.0.1:8200"}}
"""


def managed(entry: str) -> str:
    return MANAGED_BASE + f"managed:\n  - {entry}\n"

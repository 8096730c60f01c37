"""What a test does when a real dependency (a binary such as bao, Alertmanager or promtool) is missing."""

from __future__ import annotations

import os

import pytest


def skip_or_fail(reason: str) -> None:
    """Skip locally; fail in CI, where every real dependency must be present."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: missing test dependencies fail the build)")
    pytest.skip(reason)

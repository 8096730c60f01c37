"""Structured log events as the tests capture them (the ``logs`` fixture in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

LogList = list[MutableMapping[str, Any]]
"""What ``structlog.testing.capture_logs`` collects: one mapping per event."""


def events(captured: LogList) -> list[str]:
    """The events' names, in order."""
    return [str(entry["event"]) for entry in captured]

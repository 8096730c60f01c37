"""Fixtures for the CLI tests: a sandbox LangSmith server on the real clock (the CLI reads the host's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langsmith_sandbox import SandboxClock, SandboxServer, SandboxState


@pytest.fixture
def live_state() -> SandboxState:
    return SandboxState(SandboxClock())  # real time: `rotator check` reads the real clock


@pytest.fixture
def live_server(live_state: SandboxState) -> Iterator[SandboxServer]:
    with SandboxServer(live_state) as server:
        yield server

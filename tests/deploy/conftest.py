"""Fixtures for the deploy/ tests that run the daemon: a world (tests/support/daemon_world.py) over the sandbox
LangSmith server on the real clock and the session's OpenBao dev server, and `rotator run` processes, killed at
teardown, their logs checked for secrets (as in tests/daemon/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from langsmith_sandbox import SandboxState
from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.vault import KvStore
from tests.support.daemon_world import Daemon, StartDaemon, World
from tests.support.sandbox_vault_world import open_session
from tests.support.secrets_scan import assert_no_secrets


@pytest.fixture
def world(openbao: OpenBaoDevServer, kv_prefix: str) -> Iterator[World]:
    with ExitStack() as stack:
        session = open_session(stack, openbao)
        yield World.serve(
            stack,
            SandboxState(),  # real clock: the daemon subprocess reads the host's
            workspaces=("production",),
            bao=openbao,
            prefix=kv_prefix,
            kv=KvStore(session),
        )


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[StartDaemon]:
    """Start `rotator run` on a config file, with ``env`` added to the world's environment."""
    started: list[tuple[Daemon, World]] = []

    def start(world: World, config: Path, *, env: dict[str, str] | None = None) -> Daemon:
        daemon = Daemon(config, world.environ() | (env or {}), tmp_path / f"daemon-{len(started)}.log")
        started.append((daemon, world))
        return daemon

    yield start
    for daemon, _ in started:
        daemon.close()
    for daemon, world in started:
        assert_no_secrets(daemon.log_path.read_text(encoding="utf-8", errors="replace"), known=world.secrets())

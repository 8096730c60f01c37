"""Fixtures for the tests that run the daemon (tests/daemon, tests/deploy): worlds (tests/support/daemon_world.py)
over the sandbox LangSmith server on the real clock and the session's OpenBao dev server, and `rotator run`
processes. Every process a test starts is killed at teardown if still running, and its logs are scanned for
secrets. The conftests of those folders take these fixtures by importing them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from langsmith_sandbox import SandboxState
from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.vault.kv import KvStore
from tests.support.daemon_world import Daemon, StartDaemon, World
from tests.support.sandbox_vault_world import open_session
from tests.support.secrets_scan import assert_no_secrets


@pytest.fixture
def make_world(openbao: OpenBaoDevServer, kv_prefix: str) -> Iterator[Callable[[], World]]:
    with ExitStack() as stack:
        session = open_session(stack, openbao)

        built: list[World] = []

        def build() -> World:
            world = World.serve(
                stack,
                SandboxState(),  # real clock: the daemon subprocess reads the host's
                workspaces=("production",),
                bao=openbao,
                prefix=f"{kv_prefix}-{len(built)}",
                kv=KvStore(session),
            )
            built.append(world)
            return world

        yield build


@pytest.fixture
def world(make_world: Callable[[], World]) -> World:
    return make_world()


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[StartDaemon]:
    """Start `rotator run` on a config file (``env`` added to the world's environment); every process is killed at
    teardown, its logs checked for secrets."""
    started: list[tuple[Daemon, World]] = []

    def start(
        world: World, config: Path, *, admin_secret: str | None = None, env: dict[str, str] | None = None
    ) -> Daemon:
        environ = world.environ(admin_secret) | (env or {})
        daemon = Daemon(config, environ, tmp_path / f"daemon-{len(started)}.log")
        started.append((daemon, world))
        return daemon

    yield start
    for daemon, _ in started:
        daemon.close()
    for daemon, world in started:
        assert_no_secrets(daemon.log_path.read_text(encoding="utf-8", errors="replace"), known=world.secrets())

"""Fixtures for the rotation tests: worlds (tests/support/rotation_world.py) over the sandbox LangSmith server and
the session's OpenBao dev server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from langsmith_sandbox import SandboxClock, SandboxState
from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.vault.kv import KvStore
from tests.support.orgs import SANDBOX_T0
from tests.support.rotation_world import World, WorldFactory
from tests.support.sandbox_vault_world import open_session


@pytest.fixture
def make_world(openbao: OpenBaoDevServer, kv_prefix: str) -> Iterator[WorldFactory]:
    """Build a world; ``real_clock`` for subprocess runs (the rotator then reads the host's clock)."""
    with ExitStack() as stack:
        session = open_session(stack, openbao)
        built: list[World] = []

        def build(
            *,
            real_clock: bool = False,
            max_service_key_expiry_days: int | None = None,
            max_api_key_expiry_days: int | None = None,
            bao: OpenBaoDevServer | None = None,
        ) -> World:
            world = World.serve(
                stack,
                SandboxState(None if real_clock else SandboxClock(SANDBOX_T0)),
                workspaces=("production", "staging"),
                bao=bao or openbao,
                prefix=kv_prefix,
                kv=KvStore(session if bao is None else open_session(stack, bao)),
                max_service_key_expiry_days=max_service_key_expiry_days,
                max_api_key_expiry_days=max_api_key_expiry_days,
            )
            built.append(world)
            return world

        try:
            yield build
        finally:
            for world in built:
                world.close()


@pytest.fixture
def world(make_world: WorldFactory) -> World:
    """A world on the sandbox's frozen clock (SANDBOX_T0), which the runtimes share."""
    return make_world()

"""Fixtures of the unit tier: no socket may be opened, a world of in-memory ports and an in-process sandbox,
and crashes at the saga's failpoints that end the run in-process instead of the process."""

from __future__ import annotations

import os
import socket
import types
from collections.abc import Callable, Iterator
from typing import NoReturn

import pytest

from rotator import failpoints
from tests.support.saga_world import Crash, SagaWorld, SocketUsed


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every unit test runs with ``socket.connect`` refused."""

    def refuse(sock: socket.socket, *address: object) -> NoReturn:
        raise SocketUsed(f"unit tests open no connections: connect{address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
def world() -> Iterator[SagaWorld]:
    built = SagaWorld.create()
    yield built
    built.close()


@pytest.fixture
def crash_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[str | None], None]:
    """Arm a failpoint the way the slow crash tests do (``ROTATOR_FAILPOINT``), except that reaching it raises
    :class:`Crash` where the real process would ``os._exit``; ``None`` disarms it for the run that recovers."""

    def exit_(code: int) -> NoReturn:
        raise Crash(code)

    monkeypatch.setattr(failpoints, "os", types.SimpleNamespace(environ=os.environ, _exit=exit_))

    def arm(name: str | None) -> None:
        if name is None:
            monkeypatch.delenv("ROTATOR_FAILPOINT", raising=False)
        else:
            monkeypatch.setenv("ROTATOR_FAILPOINT", name)

    return arm

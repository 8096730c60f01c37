"""The rotator's own documents in KV v2 under one prefix, as a :class:`~rotator.ports.StateStore`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rotator.ports import JsonValue
from rotator.vault.kv import KvStore


class VaultStateStore:
    def __init__(self, kv: KvStore, prefix: str) -> None:
        self._kv = kv
        self._prefix = prefix.strip("/")

    def __repr__(self) -> str:
        return f"VaultStateStore({self._kv.mount}/{self._prefix})"

    def path(self, name: str) -> str:
        """The KV path of document ``name``, relative to the mount."""
        return f"{self._prefix}/{name}"

    def load(self, name: str) -> tuple[dict[str, Any] | None, int]:
        stored = self._kv.read(self.path(name))
        return (None, 0) if stored is None else (dict(stored.data), stored.version)

    def save(self, name: str, document: Mapping[str, JsonValue], *, version: int) -> int:
        return self._kv.write(self.path(name), document, cas=version)

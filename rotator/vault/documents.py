"""JSON documents the rotator keeps in KV v2 (journal, alert dedup state): read with their version, written
with check-and-set, so two writers never overwrite each other unnoticed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from rotator.vault.kv import KvStore

T = TypeVar("T")


class VersionedDocuments(Generic[T]):
    def __init__(
        self,
        kv: KvStore,
        prefix: str,
        *,
        encode: Callable[[T], dict[str, Any]],
        decode: Callable[[dict[str, Any]], T],
        empty: Callable[[], T],
    ) -> None:
        self._kv = kv
        self._prefix = prefix.strip("/")
        self._encode, self._decode, self._empty = encode, decode, empty

    def path(self, name: str) -> str:
        return f"{self._prefix}/{name}"

    def load(self, name: str) -> tuple[T, int]:
        """The document and its version; one never written is ``empty()`` at version 0."""
        stored = self._kv.read(self.path(name))
        if stored is None:
            return self._empty(), 0
        return self._decode(dict(stored.data)), stored.version

    def save(self, name: str, value: T, version: int) -> int:
        """Write ``value`` if nobody wrote since ``version``; raises CasConflictError otherwise."""
        return self._kv.write(self.path(name), self._encode(value), cas=version)

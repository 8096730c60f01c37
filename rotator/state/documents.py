"""Typed documents over a state store: decoded on load, encoded on save, with the version for check-and-set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from rotator.ports import JsonValue, StateStore

T = TypeVar("T")


class VersionedDocuments(Generic[T]):
    def __init__(
        self,
        store: StateStore,
        *,
        encode: Callable[[T], dict[str, JsonValue]],
        decode: Callable[[dict[str, Any]], T],
        empty: Callable[[], T],
    ) -> None:
        self._store = store
        self._encode, self._decode, self._empty = encode, decode, empty

    def load(self, name: str) -> tuple[T, int]:
        """The document and its version; one never written is ``empty()`` at version 0."""
        document, version = self._store.load(name)
        return (self._empty(), 0) if document is None else (self._decode(document), version)

    def save(self, name: str, value: T, version: int) -> int:
        """Write ``value`` if nobody wrote since ``version``; raises WriteConflict otherwise."""
        return self._store.save(name, self._encode(value), version=version)

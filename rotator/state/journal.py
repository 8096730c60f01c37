"""The journal: one document per managed secret, saved before each step of its rotation runs."""

from __future__ import annotations

from rotator.domain.journal import SecretState, from_document, to_document
from rotator.ports import StateStore
from rotator.state.documents import VersionedDocuments
from rotator.state.layout import LAYOUT, StateLayout


class JournalStore:
    def __init__(self, store: StateStore, layout: StateLayout = LAYOUT) -> None:
        self._documents = VersionedDocuments[SecretState](
            store, encode=to_document, decode=from_document, empty=SecretState
        )
        self._layout = layout

    def load(self, secret: str) -> tuple[SecretState, int]:
        return self._documents.load(self._layout.journal(secret))

    def save(self, secret: str, state: SecretState, version: int) -> int:
        return self._documents.save(self._layout.journal(secret), state, version)

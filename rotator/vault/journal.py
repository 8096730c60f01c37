"""The journal: one KV v2 document per managed secret, under the state prefix, always written with check-and-set."""

from __future__ import annotations

from rotator.domain.journal import SecretState, from_document, to_document
from rotator.vault.kv import KvStore


class JournalStore:
    def __init__(self, kv: KvStore, prefix: str) -> None:
        self._kv = kv
        self._prefix = prefix.strip("/")

    def path(self, name: str) -> str:
        return f"{self._prefix}/secrets/{name}"

    def load(self, name: str) -> tuple[SecretState, int]:
        """The state and its version; a secret never seen is a fresh state at version 0."""
        stored = self._kv.read(self.path(name))
        if stored is None:
            return SecretState(), 0
        return from_document(dict(stored.data)), stored.version

    def save(self, name: str, state: SecretState, version: int) -> int:
        """Write ``state`` if nobody wrote since ``version``; raises CasConflictError otherwise."""
        return self._kv.write(self.path(name), to_document(state), cas=version)

"""The journal: one document per managed secret at ``<state_prefix>/secrets/<name>``."""

from __future__ import annotations

from rotator.domain.journal import SecretState, from_document, to_document
from rotator.vault.documents import VersionedDocuments
from rotator.vault.kv import KvStore


class JournalStore(VersionedDocuments[SecretState]):
    def __init__(self, kv: KvStore, prefix: str) -> None:
        super().__init__(
            kv, f"{prefix.strip('/')}/secrets", encode=to_document, decode=from_document, empty=SecretState
        )

"""Alert dedup state at ``<state_prefix>/alerts``, so it survives restarts and CronJob runs."""

from __future__ import annotations

from rotator.domain.alerts import DedupState, SentRecord, state_from_document, state_to_document
from rotator.vault.documents import VersionedDocuments
from rotator.vault.kv import KvStore

_NAME = "alerts"


class AlertStateStore:
    def __init__(self, kv: KvStore, prefix: str) -> None:
        self._documents = VersionedDocuments[dict[str, SentRecord]](
            kv, prefix, encode=state_to_document, decode=state_from_document, empty=dict
        )

    def load(self) -> tuple[dict[str, SentRecord], int]:
        return self._documents.load(_NAME)

    def save(self, state: DedupState, version: int) -> int:
        """Check-and-set: of two replicas deciding the same notifications, only one sends them."""
        return self._documents.save(_NAME, dict(state), version)

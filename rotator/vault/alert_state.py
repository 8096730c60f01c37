"""Alert delivery state at ``<state_prefix>/alerts``, so it survives restarts and CronJob runs."""

from __future__ import annotations

from rotator.domain.alerts import DeliveryState, state_from_document, state_to_document
from rotator.vault.documents import VersionedDocuments
from rotator.vault.kv import KvStore

_NAME = "alerts"


class AlertStateStore:
    def __init__(self, kv: KvStore, prefix: str) -> None:
        self._documents = VersionedDocuments[DeliveryState](
            kv, prefix, encode=state_to_document, decode=state_from_document, empty=DeliveryState
        )

    def load(self) -> tuple[DeliveryState, int]:
        return self._documents.load(_NAME)

    def save(self, state: DeliveryState, version: int) -> int:
        """Check-and-set: of two replicas about to send the same notifications, only one claims them."""
        return self._documents.save(_NAME, state, version)

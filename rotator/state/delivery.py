"""Alert delivery state, kept so it survives restarts and CronJob runs."""

from __future__ import annotations

from rotator.domain.alerts import DeliveryState, state_from_document, state_to_document
from rotator.ports import StateStore
from rotator.state.documents import VersionedDocuments
from rotator.state.layout import LAYOUT, StateLayout


class DeliveryStateStore:
    def __init__(self, store: StateStore, layout: StateLayout = LAYOUT) -> None:
        self._documents = VersionedDocuments[DeliveryState](
            store, encode=state_to_document, decode=state_from_document, empty=DeliveryState
        )
        self._name = layout.alerts

    def load(self) -> tuple[DeliveryState, int]:
        return self._documents.load(self._name)

    def save(self, state: DeliveryState, version: int) -> int:
        """Check-and-set: of two replicas about to send the same notifications, only one claims them."""
        return self._documents.save(self._name, state, version)

"""Alert dedup state in Vault, beside the journal, so it survives restarts and CronJob runs."""

from __future__ import annotations

from rotator.domain.alerts import DedupState, SentRecord, state_from_document, state_to_document
from rotator.vault.kv import KvStore


class AlertStateStore:
    def __init__(self, kv: KvStore, prefix: str) -> None:
        self._kv = kv
        self.path = f"{prefix.strip('/')}/alerts"

    def load(self) -> tuple[dict[str, SentRecord], int]:
        stored = self._kv.read(self.path)
        return (state_from_document(stored.data), stored.version) if stored else ({}, 0)

    def save(self, state: DedupState, version: int) -> int:
        """Check-and-set: of two replicas deciding the same notifications, only one sends them."""
        return self._kv.write(self.path, state_to_document(state), cas=version)

"""How much the rotator does at once: requests in flight during an inventory, managed secrets rotated at once."""

from __future__ import annotations

from pydantic import Field

from rotator.config.fields import StrictModel

MAX_INVENTORY_REQUESTS = 64


class ConcurrencySettings(StrictModel):
    inventory: int | None = Field(default=None, ge=1, le=1000)
    """Requests in flight at once while polling the orgs; by default one per listing of the pass, up to
    MAX_INVENTORY_REQUESTS. Each admin key's ``http.requests_per_minute`` paces them whatever this is."""
    rotations: int = Field(default=8, ge=1, le=100)
    """Managed secrets whose sagas run at once; one secret's saga never runs twice at a time."""

    def inventory_workers(self, requests: int) -> int:
        return max(1, self.inventory or min(requests, MAX_INVENTORY_REQUESTS))

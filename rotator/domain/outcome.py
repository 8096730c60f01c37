"""What one run did for one managed secret: the saga's answer, read by the CLI, metrics and alerts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Result(StrEnum):
    IDLE = "idle"  # nothing due
    ROTATED = "rotated"  # a new key is in Vault (the old one may still be waiting out its grace)
    WAITING = "waiting"  # grace period or backoff running
    HELD = "held"  # the old key is still in use after its grace period
    ADOPTED = "adopted"  # the key's existing secret was stored in Vault: adopted without a new key
    REFUSED = "refused"  # a command that would not be safe now; nothing was changed
    COMPLETED = "completed"  # the old key was deleted: the rotation is over
    PLANNED = "planned"  # dry run: what would happen
    FAILED = "failed"
    SKIPPED = "skipped"  # another actor is working on this secret, shutting down, or outside the window
    STANDBY = "standby"  # another process holds the rotation lease


@dataclass(frozen=True)
class Outcome:
    name: str
    result: Result
    message: str
    key_id: str | None = None
    """The managed key as the run left it: the one in Vault once promoted."""
    promoted: bool = False
    """Whether this run put a new key into Vault."""
    retiring_key_ids: tuple[str, ...] = ()
    """Replaced keys waiting out their grace period: still valid, no longer the ones to watch."""
    held_key_id: str | None = None
    """The replaced key whose deletion is held because a consumer still uses it."""

    @property
    def ok(self) -> bool:
        return self.result not in (Result.FAILED, Result.REFUSED)

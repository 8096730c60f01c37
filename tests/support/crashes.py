"""The saga's failpoints, and what the journal holds when a run dies at each (grace 0: one run would go all
the way). "retiring": the rotation is over and the old key waits in the journal's retiring list."""

from __future__ import annotations

from rotator.domain.journal import SecretState
from rotator.domain.rotation import Phase

CRASH_PHASES: dict[str, Phase | str] = {
    "after_intent": Phase.INTENT,
    "after_create": Phase.CREATED,
    "after_verify": Phase.CREATED,
    "before_vault_metadata": Phase.CREATED,
    "after_vault_write": Phase.CREATED,
    "after_promote": "retiring",
    "after_delete": "retiring",
}
FAILPOINTS = list(CRASH_PHASES)


def phase_of(journal: SecretState) -> Phase | str | None:
    if journal.rotation is not None:
        return journal.rotation.phase
    return "retiring" if journal.retiring else None

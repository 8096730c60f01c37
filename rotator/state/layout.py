"""Where each document lives in the state store, in one place (a Vault store puts them under its prefix)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StateLayout:
    alerts: str = "alerts"
    """Alert delivery state: one document for every sink."""

    def journal(self, secret: str) -> str:
        """The journal of managed secret ``secret``."""
        return f"secrets/{secret}"

    def lease(self, name: str) -> str:
        """The rotation lease ``name`` (one per fleet of replicas)."""
        return f"leases/{name}"


LAYOUT = StateLayout()

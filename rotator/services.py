"""What a process works with, built once by the composition root (``rotator.bootstrap``) and handed to the
commands: the settings, the clock, the admin keys, the clients, the stores, the gate and the alerting."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from rotator.alerting import Alerting
from rotator.alerts import Dispatcher
from rotator.config import ManagedSecretSettings, Settings
from rotator.gate import RotationGate
from rotator.inventory import ClientFactory
from rotator.ports import SecretTarget
from rotator.secrets import Credential
from rotator.state import JournalStore

if TYPE_CHECKING:
    from rotator.metrics import Metrics
    from rotator.vault.session import VaultSession

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Services:
    settings: Settings
    """As loaded, with each org entry that had no ids completed by discovery."""
    now: Clock
    metrics: Metrics | None
    admin_keys: Mapping[str, Credential]
    """Per org name, its admin key, read where it is kept."""
    build_client: ClientFactory
    langsmith_connections: httpx.Client
    """The connection pool every LangSmith client of the process shares."""
    vault: VaultSession | None
    journals: JournalStore | None
    """Each managed secret's journal; None without Vault (then nothing is managed)."""
    gate: RotationGate
    dispatcher: Dispatcher
    alerting: Alerting
    targets: Callable[[ManagedSecretSettings], SecretTarget]
    """Where each managed secret's key is stored for its consumers."""
    discovery_notes: tuple[str, ...] = ()
    """Which organization or workspace each org entry without ids watches, and why (for the operator)."""

    def close(self) -> None:
        """Release the lease and the connections: the end of a command or a daemon."""
        self.gate.release()
        self.dispatcher.close()
        self.langsmith_connections.close()

"""What a process works with, built once by the composition root (``rotator.bootstrap``) and handed to the
commands: the settings, the clock, the admin keys, the clients, the stores, the gate and the alerting."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from rotator.alerting import Alerting
from rotator.alerts import Dispatcher
from rotator.config import ConfigError, ManagedSecretSettings, Settings
from rotator.gate import RotationGate
from rotator.inventory import ClientFactory
from rotator.metrics import Metrics
from rotator.ports import SecretTarget
from rotator.secrets import Credential
from rotator.state import JournalStore
from rotator.vault import KvStore, VaultSession

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

    def kv(self, mount: str | None = None) -> KvStore:
        """The KV v2 store of ``mount`` (the configured ``vault.kv_mount`` by default)."""
        return open_kv(self.vault, self.settings, mount)

    def target(self, secret: ManagedSecretSettings) -> SecretTarget:
        return self.targets(secret)

    def admin_secrets(self) -> dict[str, str]:
        return {org: key.secret for org, key in self.admin_keys.items()}

    def close(self) -> None:
        """Release the lease and the alert sinks' connections: the end of a command or a daemon."""
        self.gate.release()
        self.dispatcher.close()


def open_kv(vault: VaultSession | None, settings: Settings, mount: str | None = None) -> KvStore:
    if vault is None or settings.vault is None:
        raise ConfigError(["vault: not configured"])
    return KvStore(vault, mount=mount or settings.vault.kv_mount)

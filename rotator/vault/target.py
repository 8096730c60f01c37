"""One managed secret's KV v2 path, as the saga's :class:`~rotator.ports.SecretTarget`."""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from rotator.observability import redact_text
from rotator.ports import JsonValue, SecretMetadata, SecretVersion
from rotator.vault.errors import VaultError
from rotator.vault.kv import KvStore

log = structlog.get_logger(__name__)


class VaultSecretTarget:
    def __init__(self, kv: KvStore, path: str) -> None:
        self._kv = kv
        self._path = path

    def __repr__(self) -> str:
        return f"VaultSecretTarget({self.name!r})"

    @property
    def name(self) -> str:
        return f"{self._kv.mount}/{self._path}"

    def read(self) -> SecretVersion | None:
        return self._kv.read(self._path)

    def write(self, data: Mapping[str, JsonValue], *, cas: int) -> int:
        return self._kv.write(self._path, data, cas=cas)

    def metadata(self) -> SecretMetadata | None:
        return self._kv.read_metadata(self._path)

    def set_custom_metadata(self, metadata: Mapping[str, str]) -> None:
        self._kv.set_custom_metadata(self._path, metadata)

    def write_refusal(self, *, exists: bool) -> str | None:
        """Asks ``sys/capabilities-self`` for the data and metadata API paths a rotation writes."""
        needs = {"data": "update" if exists else "create", "metadata": "update"}
        for kind, capability in needs.items():
            try:
                granted = self._kv.capabilities(self._path, kind)
            except VaultError as error:
                log.debug("vault.capabilities_unknown", error=redact_text(str(error)))
                return None
            if "root" not in granted and (capability not in granted or "deny" in granted):
                where = f"{self._kv.mount}/{kind}/{self._path}"
                held = ", ".join(sorted(granted)) or "none"
                return (
                    f"the Vault token may not {capability} {where} (its capabilities there: {held}); give the "
                    f"rotator's policy {capability!r} on it"
                )
        return None

"""The one place that knows where a secret comes from: an environment variable, a file, or a Vault KV v2 field.

Secrets are read when they are needed, not once at start: a :class:`Credential` keeps the value it read and
reads it again on :meth:`Credential.refresh` (LangSmith refused the key, so it may have been rotated by another
replica), or takes the new value at once when this process rotated it (:meth:`Credential.switch`). Messages
describe a source (``environment variable LANGSMITH_API_KEY``), never its value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from rotator.config import ConfigError, SecretRef
from rotator.vault.errors import VaultCredentialFileError, VaultError, VaultUnavailableError

if TYPE_CHECKING:
    from rotator.vault.kv import KvStore

KvForMount = Callable[[str | None], "KvStore"]
"""The KV store of a mount (None: the configured ``vault.kv_mount``); raises ConfigError without Vault."""


def describe_source(ref: SecretRef) -> str:
    if ref.env is not None:
        return f"environment variable {ref.env}"
    if ref.file is not None:
        return f"file {ref.file}"
    if ref.vault is None:
        raise ConfigError(["a secret reference: give exactly one of env, file or vault"])
    return f"Vault {ref.vault.mount or '<kv_mount>'}/{ref.vault.path}, field {ref.vault.field}"


class SecretResolver:
    def __init__(self, environ: Mapping[str, str], kv: KvForMount | None = None) -> None:
        self._environ = environ
        self._kv = kv

    def with_vault(self, kv: KvForMount) -> SecretResolver:
        """The same environment, with Vault references read through ``kv`` (Vault's own credentials come
        from the environment or files, so the session is built before Vault references can be read)."""
        return SecretResolver(self._environ, kv)

    def read(self, ref: SecretRef, needed_by: str) -> str:
        """The secret now. A mistake in the config or the environment is a ConfigError naming ``needed_by``; a
        Vault that cannot answer (down, sealed, its credential file unreadable) raises its own error."""
        if ref.env is not None:
            value = self._environ.get(ref.env, "").strip()
            if not value:
                raise ConfigError([f"{ref.env}: environment variable is not set or empty (needed by {needed_by})"])
            return value
        if ref.file is not None:
            try:
                value = ref.file.read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigError([f"{ref.file}: cannot read (needed by {needed_by}): {error.strerror}"]) from None
            if not value:
                raise ConfigError([f"{ref.file}: file is empty (needed by {needed_by})"])
            return value
        if ref.vault is None:
            raise ConfigError([f"{needed_by}: give exactly one of env, file or vault"])
        if self._kv is None:
            raise ConfigError([f"{needed_by}.vault: a Vault reference needs the vault section"])
        try:
            stored = self._kv(ref.vault.mount).read(ref.vault.path)
        except (VaultUnavailableError, VaultCredentialFileError):
            raise  # an outage, not a mistake in the config: the caller says so
        except VaultError as error:
            raise ConfigError([f"{needed_by}.vault: {error}"]) from None
        found = stored.data.get(ref.vault.field) if stored else None
        if not found or not isinstance(found, str):
            raise ConfigError([f"{needed_by}.vault: no field {ref.vault.field!r} at {ref.vault.path}"])
        return found

    def credential(self, ref: SecretRef, needed_by: str) -> Credential:
        """The secret as a credential: read now (so a missing one is reported at start), and again when asked."""
        return Credential(lambda: self.read(ref, needed_by), describe_source(ref))


class Credential:
    """A secret read where it is kept. Its repr and str never show the value."""

    def __init__(self, read: Callable[[], str], source: str) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._value = read()
        self.source = source
        """Where the secret comes from, for messages."""

    def __repr__(self) -> str:
        return f"Credential({self.source})"

    @property
    def secret(self) -> str:
        with self._lock:
            return self._value

    def refresh(self) -> bool:
        """Read the secret again; True when it changed. A failed read keeps the value held, and says False."""
        try:
            value = self._read()
        except (ConfigError, VaultError):
            return False
        with self._lock:
            changed, self._value = value != self._value, value
        return changed

    def switch(self, value: str) -> None:
        """This process just stored ``value`` where the secret is kept: use it from now on."""
        with self._lock:
            self._value = value

"""KV version 2 secrets: read, check-and-set write, custom metadata.

Paths are relative to the mount (``langsmith/prod``); messages and logs name the API path
(``secret/data/langsmith/prod``), which is what a Vault policy grants. Log events carry the path, the version and
the operation, never a value. At first use of a mount the store checks it is KV version 2: a KV v1 mount would
silently accept writes to ``<mount>/data/...`` as a secret named ``data/...``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from rotator.ports import JsonValue, SecretMetadata, SecretVersion, VersionInfo
from rotator.vault.errors import (
    VaultConfigError,
    VaultNotFoundError,
    VaultPermissionError,
    VaultRequestError,
    VaultServerError,
)
from rotator.vault.session import VaultSession

log = structlog.get_logger(__name__)


class KvStore:
    def __init__(self, session: VaultSession, mount: str = "secret") -> None:
        self.session = session
        self.mount = mount.strip("/")
        if not self.mount:
            raise ValueError("mount: give the KV v2 mount path, e.g. 'secret'")

    def __repr__(self) -> str:
        return f"KvStore(mount={self.mount!r}, address={self.session.address!r})"

    # ── data ────────────────────────────────────────────────────────────────────────────────────────────

    def read(self, path: str, *, version: int | None = None) -> SecretVersion | None:
        """The latest version (or ``version``); None if there is none, or it is deleted or destroyed."""
        path = _clean(path)
        api = self._api("data", path)
        self._ensure_kv2()
        try:
            response = self.session.run(
                "read",
                api,
                lambda c: c.secrets.kv.v2.read_secret_version(
                    path=path, version=version, mount_point=self.mount, raise_on_deleted_version=False
                ),
            )
        except VaultNotFoundError:
            return None
        found = _secret_version(response, api)
        log.debug("vault.kv_read", path=api, version=found.version if found else None, found=found is not None)
        return found

    def write(self, path: str, data: Mapping[str, JsonValue], *, cas: int) -> int:
        """Write a new version if the latest is ``cas`` (0: the secret must not exist); returns the new version.

        Raises :class:`CasConflictError` when someone else wrote first.
        """
        path = _clean(path)
        if isinstance(cas, bool) or not isinstance(cas, int) or cas < 0:
            raise ValueError(f"cas must be a version number >= 0, got {cas!r}")
        api = self._api("data", path)
        self._ensure_kv2()
        secret = dict(data)
        response = self.session.run(
            "write",
            api,
            lambda c: c.secrets.kv.v2.create_or_update_secret(
                path=path, secret=secret, cas=cas, mount_point=self.mount
            ),
        )
        version = _dig(response, "data", "version")
        if not isinstance(version, int):
            raise VaultConfigError(
                f"write {api} returned no version: is {self.mount}/ really a KV version 2 mount?",
                operation="write",
                path=api,
            )
        log.info("vault.kv_written", path=api, version=version, cas=cas)
        return version

    def capabilities(self, path: str, kind: str = "data") -> frozenset[str]:
        """What this token may do on ``path``'s ``data`` (or ``metadata``) API path, as Vault's
        ``sys/capabilities-self`` answers ("root" means anything, "deny" nothing)."""
        api = self._api(kind, _clean(path))
        response = self.session.run(
            "check capabilities",
            api,
            lambda c: c.adapter.post("/v1/sys/capabilities-self", json={"paths": [api]}),
        )
        found = _dig(response, "data", api)
        return frozenset(str(item) for item in found) if isinstance(found, list) else frozenset()

    # ── metadata ────────────────────────────────────────────────────────────────────────────────────────

    def set_custom_metadata(self, path: str, metadata: Mapping[str, str]) -> None:
        """Replace the secret's custom metadata; max_versions and other settings stay as they are."""
        path = _clean(path)
        api = self._api("metadata", path)
        self._ensure_kv2()
        body = {"custom_metadata": {str(key): str(value) for key, value in metadata.items()}}
        # Not hvac's update_metadata: it would also send delete_version_after="0s" and reset that setting.
        self.session.run("write metadata", api, lambda c: c.adapter.post(f"/v1/{api}", json=body))
        log.info("vault.kv_metadata_written", path=api, keys=sorted(body["custom_metadata"]))

    def read_metadata(self, path: str) -> SecretMetadata | None:
        """Versions and custom metadata of a secret; None if it has never been written (or was purged)."""
        path = _clean(path)
        api = self._api("metadata", path)
        self._ensure_kv2()
        try:
            response = self.session.run(
                "read metadata", api, lambda c: c.secrets.kv.v2.read_secret_metadata(path=path, mount_point=self.mount)
            )
        except VaultNotFoundError:
            return None
        return _secret_metadata(response, api)

    # ── the mount ───────────────────────────────────────────────────────────────────────────────────────

    def _api(self, kind: str, path: str) -> str:
        return f"{self.mount}/{kind}/{path}".rstrip("/")

    def _ensure_kv2(self) -> None:
        if self.mount in self.session.checked_mounts:
            return
        info = self._mount_info()
        if info is None:
            log.debug("vault.kv_mount_unverified", mount=self.mount, reason="permission denied on mount lookups")
        else:
            kind = info.get("type")
            options = info.get("options")
            version = options.get("version") if isinstance(options, dict) else None
            if kind not in {"kv", "generic"}:
                raise VaultConfigError(
                    f"mount {self.mount}/ is a {kind!r} secrets engine, not KV version 2", operation="check mount"
                )
            if str(version) != "2":
                raise VaultConfigError(
                    f"mount {self.mount}/ is KV version 1; the rotator needs KV version 2 "
                    f"(upgrade it with: vault kv enable-versioning {self.mount}/)",
                    operation="check mount",
                )
        self.session.checked_mounts.add(self.mount)

    def _mount_info(self) -> dict[str, Any] | None:
        """The mount's type and options; None when the token may not look (then the data calls will tell)."""
        # What the vault CLI asks before any kv command: allowed to any token with a capability in the mount.
        preflight = f"sys/internal/ui/mounts/{self.mount}"
        try:
            response = self.session.run("read", preflight, lambda c: c.adapter.get(f"/v1/{preflight}"))
            return _mapping(_dig(response, "data"))
        except VaultPermissionError:
            pass  # also what a missing mount answers: ask sys/mounts, which tells the two apart
        mounts = f"sys/mounts/{self.mount}"
        try:
            response = self.session.run("read", mounts, lambda c: c.adapter.get(f"/v1/{mounts}"))
        except VaultPermissionError:
            return None
        except (VaultRequestError, VaultNotFoundError) as error:
            raise VaultConfigError(
                f"no secrets engine is mounted at {self.mount}/ (enable one with: vault secrets enable -path="
                f"{self.mount} kv-v2)",
                operation="check mount",
                path=mounts,
            ) from error
        return _mapping(_dig(response, "data"))


def _clean(path: str) -> str:
    path = path.strip("/")
    if not path or any(part in {"", ".", ".."} for part in path.split("/")):
        raise ValueError(f"invalid KV path {path!r}: give a relative path such as 'langsmith/prod'")
    return path


def _dig(value: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _secret_version(response: object, api: str) -> SecretVersion | None:
    metadata = _mapping(_dig(response, "data", "metadata"))
    data = _dig(response, "data", "data")
    if metadata.get("deletion_time") or metadata.get("destroyed") or data is None:
        return None
    version = metadata.get("version")
    if not isinstance(data, dict) or not isinstance(version, int):
        raise VaultServerError(f"unexpected answer to read {api}: no data or version", operation="read", path=api)
    return SecretVersion(
        data={str(key): value for key, value in data.items()},
        version=version,
        custom_metadata=_strings(metadata.get("custom_metadata")),
        created_at=parse_time(metadata.get("created_time")),
    )


def _secret_metadata(response: object, api: str) -> SecretMetadata:
    body = _mapping(_dig(response, "data"))
    if not isinstance(body.get("current_version"), int):
        raise VaultServerError(f"unexpected answer to read metadata {api}", operation="read metadata", path=api)
    versions = {
        int(number): VersionInfo(
            created_at=parse_time(_mapping(info).get("created_time")),
            deleted_at=parse_time(_mapping(info).get("deletion_time")),
            destroyed=_mapping(info).get("destroyed") is True,
        )
        for number, info in _mapping(body.get("versions")).items()
        if str(number).isdigit()
    }
    return SecretMetadata(
        current_version=int(body["current_version"]),
        oldest_version=int(body.get("oldest_version") or 0),
        max_versions=int(body.get("max_versions") or 0),
        custom_metadata=_strings(body.get("custom_metadata")),
        versions=versions,
    )


_FRACTION = re.compile(r"\.(\d{6})\d+")


def parse_time(value: object) -> datetime | None:
    """Vault's RFC 3339 timestamps (nanoseconds, ``Z``) as aware UTC datetimes; None when empty or garbled."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r".\1", value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)

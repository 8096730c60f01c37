"""What the scenarios seed into the sandbox: orgs with an admin key and many keys (inventory), or managed keys due
for rotation spread over some orgs (rotation). Seeds go through the control API, so the server is the only
holder of the state; the secrets the bench needs come back from the seed's ``reveal``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.sandbox import SandboxProcess


@dataclass(frozen=True)
class OrgHandle:
    name: str
    """The org's name in the rotator's config."""
    org_id: str
    admin_key_id: str
    admin_secret: str


@dataclass(frozen=True)
class ManagedHandle:
    name: str
    org: str
    key_id: str
    secret: str
    path: str
    """Where in Vault (KV v2, under the ``secret`` mount) its consumers read it."""


@dataclass(frozen=True)
class World:
    tag: str
    orgs: tuple[OrgHandle, ...]
    keys_per_org: int
    managed: tuple[ManagedHandle, ...] = ()

    @property
    def listed_keys(self) -> int:
        return len(self.orgs) * self.keys_per_org


def _expiry(n: int) -> dict[str, str]:
    """A spread of states: most keys fine, some warning, critical or expired, a few never expiring."""
    choice = n % 10
    if choice == 0:
        return {}
    if choice == 1:
        return {"expired_ago": f"{n % 5 + 1}d"}
    if choice in (2, 3):
        return {"expires_in": f"{n % 20 + 1}d"}
    return {"expires_in": f"{30 + n % 300}d"}


def inventory_seed(tag: str, orgs: int, keys_per_org: int) -> dict[str, Any]:
    """``orgs`` orgs, each listing ``keys_per_org`` service keys: its admin key and the rest, half of them scoped to
    its workspace."""
    entries = []
    for index in range(orgs):
        prefix = f"{tag}-{index}"
        keys: list[dict[str, Any]] = [
            {"name": f"{prefix}-admin", "org_role": "Organization Admin", "description": "rotator", "reveal": True}
        ]
        for n in range(keys_per_org - 1):
            key: dict[str, Any] = {"name": f"{prefix}-k{n}", "created_ago": f"{n % 80 + 1}d", **_expiry(n)}
            if n % 2:
                key["workspaces"] = [f"{prefix}-prod"]
            keys.append(key)
        entries.append(
            {
                "name": f"{prefix}-org",
                "workspaces": [{"name": "production", "ref": f"{prefix}-prod"}],
                "service_keys": keys,
            }
        )
    return {"orgs": entries}


def rotation_seed(tag: str, orgs: int, keys: int) -> dict[str, Any]:
    """``keys`` managed keys dealt round-robin over ``orgs`` orgs, each org-wide, 70 days into a 90-day life (due:
    two thirds have passed), besides each org's admin key."""
    entries = []
    for index in range(orgs):
        prefix = f"{tag}-{index}"
        service_keys: list[dict[str, Any]] = [
            {"name": f"{prefix}-admin", "org_role": "Organization Admin", "description": "rotator", "reveal": True}
        ]
        for n in range(index, keys, orgs):
            name = f"{tag}-app-{n}"
            service_keys.append(
                {"name": name, "description": name, "created_ago": "70d", "expires_in": "20d", "reveal": True}
            )
        entries.append(
            {
                "name": f"{prefix}-org",
                "workspaces": [{"name": "production", "ref": f"{prefix}-prod"}],
                "service_keys": service_keys,
            }
        )
    return {"orgs": entries}


def seed_inventory(sandbox: SandboxProcess, tag: str, orgs: int, keys_per_org: int) -> World:
    result = sandbox.seed(inventory_seed(tag, orgs, keys_per_org))
    return World(tag, _orgs(result, tag, orgs), keys_per_org)


def seed_rotation(sandbox: SandboxProcess, tag: str, orgs: int, keys: int, path_prefix: str) -> World:
    result = sandbox.seed(rotation_seed(tag, orgs, keys))
    handles = _orgs(result, tag, orgs)
    revealed = result["revealed"]
    managed = []
    for n in range(keys):
        name = f"{tag}-app-{n}"
        key = revealed[name]
        managed.append(
            ManagedHandle(
                name=name,
                org=handles[n % orgs].name,
                key_id=key["id"],
                secret=key["secret"],
                path=f"{path_prefix}/apps/{name}",
            )
        )
    per_org = -(-keys // orgs) + 1
    return World(tag, handles, per_org, tuple(managed))


def _orgs(result: dict[str, Any], tag: str, orgs: int) -> tuple[OrgHandle, ...]:
    handles = []
    for index in range(orgs):
        admin = result["revealed"][f"{tag}-{index}-admin"]
        handles.append(OrgHandle(f"{tag}-{index}", admin["organization_id"], admin["id"], admin["secret"]))
    return tuple(handles)

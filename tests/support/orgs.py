"""Org "Acme" seeded into a sandbox state: the one way the suites seed an org, with keyword options for the
workspaces, the admin key's age and expiry, and the org's key-expiry limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from langsmith_sandbox import IssuedKey, SandboxState
from langsmith_sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_ADMIN

SANDBOX_T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
"""Where the suites' frozen sandbox clocks start."""
ORG_ADMIN_ROLE = BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id


class WorkspaceIds:
    """The ids of workspaces production and staging, from ``workspaces`` (ids by name)."""

    workspaces: dict[str, str]

    @property
    def production_id(self) -> str:
        return self.workspaces["production"]

    @property
    def staging_id(self) -> str:
        return self.workspaces["staging"]


@dataclass(frozen=True)
class SmallOrg(WorkspaceIds):
    """Org "Acme" with its workspaces and an org-wide Organization Admin service key, "rotator admin"."""

    org_id: str
    workspaces: dict[str, str]
    """Workspace ids by name."""
    admin: IssuedKey

    def org_headers(self, secret: str | None = None) -> dict[str, str]:
        return {"X-API-Key": secret or self.admin.secret, "X-Organization-Id": self.org_id}

    def tenant_headers(self, secret: str | None = None, workspace_id: str | None = None) -> dict[str, str]:
        headers = {"X-API-Key": secret or self.admin.secret}
        if workspace_id is not None:
            headers["X-Tenant-Id"] = workspace_id
        return headers


def seed_small_org(
    state: SandboxState,
    *,
    workspaces: Sequence[str] = ("production", "staging"),
    admin_age: timedelta | None = None,
    admin_expires_in: timedelta | None = None,
    max_service_key_expiry_days: int | None = None,
    max_api_key_expiry_days: int | None = None,
) -> SmallOrg:
    """Seed org "Acme" with ``workspaces`` and its admin key into ``state``.

    The admin key is created now on the state's clock (``admin_age`` before now, if given) and never expires
    (``admin_expires_in`` after now, if given). The ``max_*_expiry_days`` are the org's limits on new keys'
    lifetimes."""
    org = state.add_org(
        "Acme",
        max_service_key_expiry_days=max_service_key_expiry_days,
        max_api_key_expiry_days=max_api_key_expiry_days,
    )
    workspace_ids = {name: state.add_workspace(org.id, name).id for name in workspaces}
    now = state.clock.now()
    admin = state.add_service_key(
        org.id,
        org_role_id=ORG_ADMIN_ROLE,
        description="rotator admin",
        created_at=None if admin_age is None else now - admin_age,
        expires_at=None if admin_expires_in is None else now + admin_expires_in,
    )
    return SmallOrg(org.id, workspace_ids, admin)

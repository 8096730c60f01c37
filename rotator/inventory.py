"""Inventory: poll every configured org for key metadata, concurrently, one failure never hiding the others."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import structlog

from rotator.config import OrgSettings, Watched
from rotator.domain.check import OrgInventory
from rotator.domain.keys import ApiKey
from rotator.langsmith import ApiKeySource, LangSmithClient, LangSmithError, LangSmithPermissionError
from rotator.observability import redact_text

log = structlog.get_logger(__name__)

ClientFactory = Callable[[OrgSettings, str | ApiKeySource], LangSmithClient]
"""A LangSmith client for an org entry, authenticating with a key read from its source at each request."""
POLL_CONCURRENCY = 8
"""Orgs polled at once; each org's own requests stay sequential, well inside LangSmith's per-key limits."""


def take_inventory(
    orgs: Sequence[OrgSettings], admin_keys: Mapping[str, ApiKeySource], build_client: ClientFactory
) -> list[OrgInventory]:
    """Poll each org in its own thread; results keep the configured order."""

    def poll(org: OrgSettings) -> OrgInventory:
        try:
            with build_client(org, admin_keys[org.name]) as client:
                return poll_org(org, client, lambda scoped: build_client(scoped, admin_keys[org.name]))
        except Exception as error:  # a bug polling one org must not hide the others
            log.exception("inventory.org_crashed", org=org.name)
            return OrgInventory(org.name, error=f"internal error: {type(error).__name__}")

    with ThreadPoolExecutor(max_workers=min(POLL_CONCURRENCY, len(orgs)) or 1, thread_name_prefix="poll") as pool:
        return list(pool.map(poll, orgs))


def poll_org(
    org: OrgSettings, client: LangSmithClient, client_for: Callable[[OrgSettings], LangSmithClient]
) -> OrgInventory:
    """List the keys this org's admin key can see: the whole org, or one workspace's service keys.
    ``client_for`` builds a client for the same key with other ids (to read the roles of a workspace's org)."""
    try:
        keys: list[ApiKey] = []
        if org.organization_id is None:
            keys += client.list_workspace_service_keys()
        if org.organization_id is not None and Watched.SERVICE_KEYS in org.watch:
            keys += client.list_org_service_keys()
        if org.organization_id is not None and Watched.PERSONAL_ACCESS_TOKENS in org.watch:
            keys += client.list_personal_access_tokens()
    except LangSmithError as error:
        reason = redact_text(str(error))
        if isinstance(error, LangSmithPermissionError) and org.organization_id is not None:
            reason += (
                f"; is organization_id {org.organization_id} (LANGSMITH_ORGANIZATION_ID) the organization this key "
                "belongs to? LangSmith refuses any other; unset it to have the rotator find it from the key"
            )
        log.error("inventory.org_failed", org=org.name, error=reason, status=error.status)
        return OrgInventory(org.name, error=reason)
    inventory = OrgInventory(org.name, tuple(keys), _role_names(org, client, client_for))
    log.info("inventory.org_polled", org=org.name, keys=len(inventory.keys))
    return inventory


def _role_names(
    org: OrgSettings, client: LangSmithClient, client_for: Callable[[OrgSettings], LangSmithClient]
) -> dict[str, str]:
    """Role display names make the table readable; without them the role ids are shown instead. Roles are an
    org's: a workspace entry asks LangSmith which org its key is in, when LangSmith will say."""
    try:
        if org.organization_id is not None:
            return {role.id: role.display_name for role in client.list_roles()}
        info = client.org_info()
        with client_for(org.model_copy(update={"organization_id": UUID(info.id)})) as org_client:
            return {role.id: role.display_name for role in org_client.list_roles()}
    except LangSmithError as error:
        log.warning("inventory.roles_unavailable", org=org.name, error=redact_text(str(error)))
        return {}

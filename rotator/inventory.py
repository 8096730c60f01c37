"""Inventory: poll every configured org for key metadata, concurrently, one failure never hiding the others.

An org's listings (service keys, personal access tokens) and its roles do not depend on one another, so all of
them, for every org, are sent at once, as far as the pool allows; each admin key's request budget paces them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol
from uuid import UUID

import structlog

from rotator.config import OrgSettings, Watched
from rotator.domain.check import OrgInventory
from rotator.domain.keys import ApiKey
from rotator.langsmith import ApiKeySource, LangSmithClient, LangSmithError, LangSmithPermissionError
from rotator.langsmith.cycle_reads import CycleReads
from rotator.observability import redact_text

log = structlog.get_logger(__name__)

ClientFactory = Callable[[OrgSettings, str | ApiKeySource], LangSmithClient]
"""A LangSmith client for an org entry, authenticating with a key read from its source at each request."""


class OrgClients(Protocol):
    def __call__(self, org: OrgSettings) -> CycleReads:
        """The org's admin client of this cycle (shared: not to be closed)."""

    def scoped(self, org: OrgSettings) -> LangSmithClient:
        """A client of the org's admin key with other ids (the caller closes it)."""


Listing = Callable[[], list[ApiKey]]


def take_inventory(
    orgs: Sequence[OrgSettings], clients: OrgClients, workers: Callable[[int], int]
) -> list[OrgInventory]:
    """Results keep the configured order. ``workers(reads)``: how many threads for that many reads."""
    listings = {org.name: _listings(org, clients(org)) for org in orgs}
    reads = sum(len(found) + 1 for found in listings.values())
    with ThreadPoolExecutor(max_workers=workers(reads), thread_name_prefix="poll") as pool:
        pending = [
            (
                org,
                [pool.submit(listing) for listing in listings[org.name]],
                pool.submit(_role_names, org, clients(org), clients),
            )
            for org in orgs
        ]
        return [_inventory(org, keys, roles) for org, keys, roles in pending]


def _listings(org: OrgSettings, client: CycleReads) -> list[Listing]:
    """The key listings of an org entry: the whole org, or one workspace's service keys."""
    if org.organization_id is None:
        return [client.list_workspace_service_keys]
    watched = {
        Watched.SERVICE_KEYS: client.list_org_service_keys,
        Watched.PERSONAL_ACCESS_TOKENS: client.list_personal_access_tokens,
    }
    return [listing for what, listing in watched.items() if what in org.watch]


def _inventory(
    org: OrgSettings, listings: Sequence[Future[list[ApiKey]]], roles: Future[dict[str, str]]
) -> OrgInventory:
    try:
        keys = [key for listing in listings for key in listing.result()]
        inventory = OrgInventory(org.name, tuple(keys), roles.result())
    except LangSmithError as error:
        reason = redact_text(str(error))
        if isinstance(error, LangSmithPermissionError) and org.organization_id is not None:
            reason += (
                f"; is organization_id {org.organization_id} (LANGSMITH_ORGANIZATION_ID) the organization this key "
                "belongs to? LangSmith refuses any other; unset it to have the rotator find it from the key"
            )
        log.error("inventory.org_failed", org=org.name, error=reason, status=error.status)
        return OrgInventory(org.name, error=reason)
    except Exception as error:  # a bug polling one org must not hide the others
        log.exception("inventory.org_crashed", org=org.name)
        return OrgInventory(org.name, error=f"internal error: {type(error).__name__}")
    log.info("inventory.org_polled", org=org.name, keys=len(inventory.keys))
    return inventory


def _role_names(org: OrgSettings, client: CycleReads, clients: OrgClients) -> dict[str, str]:
    """Role display names make the table readable; without them the role ids are shown instead. Roles are an
    org's: a workspace entry asks LangSmith which org its key is in, when LangSmith will say."""
    try:
        if org.organization_id is not None:
            return {role.id: role.display_name for role in client.list_roles()}
        info = client.org_info()
        with clients.scoped(org.model_copy(update={"organization_id": UUID(info.id)})) as org_client:
            return {role.id: role.display_name for role in org_client.list_roles()}
    except LangSmithError as error:
        log.warning("inventory.roles_unavailable", org=org.name, error=redact_text(str(error)))
        return {}

"""LangSmith clients from the config: each org entry's endpoint and ids, the http section's timeout, retries and
request budget; one connection pool for the whole process."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from rotator.config import HttpSettings, OrgSettings
from rotator.inventory import ClientFactory
from rotator.langsmith import ApiKeySource, LangSmithClient, RequestObserver, RetryPolicy
from rotator.langsmith.budget import RequestBudget
from rotator.secrets import Credential


def request_budgets(http: HttpSettings, admin_keys: Mapping[str, Credential]) -> dict[str, RequestBudget]:
    """Per org name, its admin key's budget: org entries that share a key share its budget, as LangSmith
    counts requests per key."""
    by_key: dict[str, RequestBudget] = {}
    return {
        org: by_key.setdefault(key.secret, RequestBudget(http.requests_per_minute)) for org, key in admin_keys.items()
    }


def client_factory(
    http: HttpSettings,
    connections: httpx.Client,
    budgets: Mapping[str, RequestBudget],
    on_request: RequestObserver | None = None,
) -> ClientFactory:
    """Clients of an org entry draw from its admin key's budget, whatever key they send (a new key being
    verified is one more request of that org)."""

    def build(org: OrgSettings, api_key: str | ApiKeySource) -> LangSmithClient:
        return LangSmithClient(
            endpoint=org.endpoint,
            api_key=api_key,
            organization_id=str(org.organization_id) if org.organization_id else None,
            workspace_id=str(org.workspace_id) if org.workspace_id else None,
            retry=RetryPolicy(max_attempts=http.max_attempts, max_total_seconds=http.max_retry_time.total_seconds()),
            connections=connections,
            budget=budgets[org.name],
            on_request=on_request,
        )

    return build

"""LangSmith clients from the config: each org entry's endpoint and ids, the http section's timeout and retries."""

from __future__ import annotations

from rotator.config import HttpSettings, OrgSettings
from rotator.inventory import ClientFactory
from rotator.langsmith import ApiKeySource, LangSmithClient, RequestObserver, RetryPolicy


def client_factory(http: HttpSettings, on_request: RequestObserver | None = None) -> ClientFactory:
    def build(org: OrgSettings, api_key: str | ApiKeySource) -> LangSmithClient:
        return LangSmithClient(
            endpoint=org.endpoint,
            api_key=api_key,
            organization_id=str(org.organization_id) if org.organization_id else None,
            workspace_id=str(org.workspace_id) if org.workspace_id else None,
            timeout=http.timeout.total_seconds(),
            retry=RetryPolicy(max_attempts=http.max_attempts, max_total_seconds=http.max_retry_time.total_seconds()),
            on_request=on_request,
        )

    return build

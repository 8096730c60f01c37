"""LangSmith API client: key inventory, creation and deletion, with typed errors and safe retries."""

from rotator.langsmith.client import ApiKeySource, LangSmithClient, RequestObserver
from rotator.langsmith.endpoints import DEFAULT_ENDPOINT, normalize_endpoint
from rotator.langsmith.errors import (
    CreateOutcomeUnknownError,
    CreateResponseMalformedError,
    LangSmithAuthError,
    LangSmithConflictError,
    LangSmithError,
    LangSmithMalformedResponseError,
    LangSmithNotFoundError,
    LangSmithPermissionError,
    LangSmithRateLimitError,
    LangSmithServerError,
    LangSmithUnavailableError,
    LangSmithValidationError,
    OrgScopedKeyRequiresWorkspaceError,
)
from rotator.retry import RetryPolicy

__all__ = [
    "DEFAULT_ENDPOINT",
    "ApiKeySource",
    "CreateOutcomeUnknownError",
    "CreateResponseMalformedError",
    "LangSmithAuthError",
    "LangSmithClient",
    "LangSmithConflictError",
    "LangSmithError",
    "LangSmithMalformedResponseError",
    "LangSmithNotFoundError",
    "LangSmithPermissionError",
    "LangSmithRateLimitError",
    "LangSmithServerError",
    "LangSmithUnavailableError",
    "LangSmithValidationError",
    "OrgScopedKeyRequiresWorkspaceError",
    "RequestObserver",
    "RetryPolicy",
    "normalize_endpoint",
]

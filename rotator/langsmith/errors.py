"""Typed errors for LangSmith API failures, mapped from HTTP statuses as hvac's ``exceptions.py`` does.

A message names the request (method and route template) and the server's own explanation, truncated. It never
holds a secret: LangSmith error bodies carry none, create responses never reach an error, and anything shaped
like a key is masked all the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NotRequired, TypedDict, Unpack

import httpx

from rotator.observability import safe_text
from rotator.retry import parse_retry_after

ORG_SCOPED_KEY_REQUIRES_WORKSPACE = "org_scoped_key_requires_workspace"


class ErrorContext(TypedDict):
    method: str
    path: str
    status: NotRequired[int | None]
    retry_after: NotRequired[float | None]


class LangSmithError(Exception):
    """Any failed LangSmith call. ``status`` is None when no HTTP response arrived."""

    hint = ""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.retry_after = retry_after
        """Seconds the server asked us to wait (``Retry-After``), if it said."""

    def __str__(self) -> str:
        text = f"LangSmith {self.method} {self.path}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class LangSmithAuthError(LangSmithError):
    hint = "is the API key valid, unexpired and for this region's endpoint?"


class LangSmithPermissionError(LangSmithError):
    def __init__(self, message: str, *, code: str | None = None, **context: Unpack[ErrorContext]) -> None:
        super().__init__(message, **context)
        self.code = code
        """The body's ``error`` field, e.g. ``org_scoped_key_requires_workspace``."""


class OrgScopedKeyRequiresWorkspaceError(LangSmithPermissionError):
    hint = "an org-scoped key needs a workspace id (LANGSMITH_WORKSPACE_ID) for workspace routes"


class LangSmithNotFoundError(LangSmithError):
    pass


class LangSmithConflictError(LangSmithError):
    pass


class LangSmithValidationError(LangSmithError):
    def __init__(self, message: str, *, details: list[dict[str, object]], **context: Unpack[ErrorContext]) -> None:
        super().__init__(message, **context)
        self.details = details
        """The body's ``detail`` items, reduced to ``loc``, ``msg`` and ``type``."""


class LangSmithRateLimitError(LangSmithError):
    pass


class LangSmithServerError(LangSmithError):
    pass


class LangSmithUnavailableError(LangSmithError):
    """No HTTP response: the connection failed, timed out or dropped."""


class LangSmithMalformedResponseError(LangSmithError):
    """A success status with a body that is not JSON or not the expected shape."""


class CreateOutcomeUnknownError(LangSmithError):
    """A create may or may not have made a key: reconcile by listing keys before trying again."""


class CreateResponseMalformedError(LangSmithMalformedResponseError, CreateOutcomeUnknownError):
    """A create succeeded but its answer is unreadable: the key exists and its secret is lost."""


_BY_STATUS: dict[int, type[LangSmithError]] = {
    401: LangSmithAuthError,
    404: LangSmithNotFoundError,
    409: LangSmithConflictError,
    429: LangSmithRateLimitError,
}


def error_from_response(
    response: httpx.Response, *, method: str, path: str, now: datetime | None = None
) -> LangSmithError:
    """The typed error for a non-success response; ``path`` should be the route template."""
    status = response.status_code
    body = _json_or_none(response)
    retry_after = parse_retry_after(response.headers.get("retry-after"), now=now or datetime.now(UTC))
    context: ErrorContext = {"method": method, "path": path, "status": status, "retry_after": retry_after}
    if status == 422:
        details = _validation_details(body)
        summary = safe_text("; ".join(_describe(item) for item in details)) or _explanation(body)
        return LangSmithValidationError(_message(status, summary), details=details, **context)
    if status == 403:
        code = body.get("error") if isinstance(body, dict) else None
        code = code if isinstance(code, str) else None
        error_type = (
            OrgScopedKeyRequiresWorkspaceError
            if code == ORG_SCOPED_KEY_REQUIRES_WORKSPACE
            else LangSmithPermissionError
        )
        return error_type(_message(status, _explanation(body)), code=code, **context)
    error_type_for_status = _BY_STATUS.get(status, LangSmithServerError if status >= 500 else LangSmithError)
    return error_type_for_status(_message(status, _explanation(body)), **context)


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _explanation(body: object) -> str:
    if not isinstance(body, dict):
        return ""
    text = next((body[f] for f in ("detail", "error", "message") if isinstance(body.get(f), str)), "")
    return safe_text(text)


def _validation_details(body: object) -> list[dict[str, object]]:
    items = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    # Pydantic also echoes the offending ``input``: keep only what explains the problem.
    return [{k: item[k] for k in ("loc", "msg", "type") if k in item} for item in items if isinstance(item, dict)]


def _describe(item: dict[str, object]) -> str:
    loc = item.get("loc")
    where = ".".join(str(part) for part in loc) if isinstance(loc, list) else "?"
    return f"{where}: {item.get('msg', '')}"


def _message(status: int, explanation: str) -> str:
    headline = f"HTTP {status} {httpx.codes.get_reason_phrase(status)}".rstrip()
    return f"{headline}: {explanation}" if explanation else headline

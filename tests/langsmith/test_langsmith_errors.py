from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from rotator.langsmith import (
    LangSmithAuthError,
    LangSmithConflictError,
    LangSmithError,
    LangSmithNotFoundError,
    LangSmithPermissionError,
    LangSmithRateLimitError,
    LangSmithServerError,
    LangSmithValidationError,
    OrgScopedKeyRequiresWorkspaceError,
)
from rotator.langsmith.errors import error_from_response
from rotator.retry import parse_retry_after

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ROUTE = "/api/v1/orgs/current/service-keys/{api_key_id}"
SECRET = "lsv2_sk_" + "0123456789abcdef" * 2 + "_0123456789"


def error_for(response: httpx.Response) -> LangSmithError:
    return error_from_response(response, method="DELETE", path=ROUTE, now=NOW)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, LangSmithError),
        (401, LangSmithAuthError),
        (403, LangSmithPermissionError),
        (404, LangSmithNotFoundError),
        (409, LangSmithConflictError),
        (422, LangSmithValidationError),
        (429, LangSmithRateLimitError),
        (500, LangSmithServerError),
        (502, LangSmithServerError),
        (503, LangSmithServerError),
    ],
)
def test_status_maps_to_its_typed_error(status: int, error_type: type[LangSmithError]) -> None:
    error = error_for(httpx.Response(status, json={"detail": "the server's reason"}))

    assert type(error) is error_type
    assert (error.status, error.method, error.path) == (status, "DELETE", ROUTE)
    assert str(error).startswith(f"LangSmith DELETE {ROUTE}: HTTP {status} ")


@pytest.mark.parametrize(
    "body",
    [
        {"detail": "Using legacy API key. Please generate a new API key."},
        {"error": "Unauthorized: Using outdated v1 api key. Please use v2 api key."},
    ],
)
def test_message_quotes_the_bodys_explanation(body: dict[str, str]) -> None:
    error = error_for(httpx.Response(401, json=body))

    assert next(iter(body.values())) in str(error)
    assert "API key valid" in str(error)  # the hint


def test_forbidden_carries_the_error_code() -> None:
    error = error_for(httpx.Response(403, json={"error": "Forbidden"}))

    assert type(error) is LangSmithPermissionError
    assert error.code == "Forbidden"


def test_org_scoped_key_without_workspace_gets_its_own_error_and_hint() -> None:
    error = error_for(httpx.Response(403, json={"error": "org_scoped_key_requires_workspace"}))

    assert isinstance(error, OrgScopedKeyRequiresWorkspaceError)
    assert error.code == "org_scoped_key_requires_workspace"
    assert "LANGSMITH_WORKSPACE_ID" in str(error)


def test_validation_error_keeps_details_and_summarises_them_without_echoed_input() -> None:
    body = {
        "detail": [
            {
                "loc": ["body", "expires_at"],
                "msg": "Input should be a valid datetime",
                "type": "datetime_parsing",
                "input": "soon",
            },
            {"loc": ["path", "api_key_id"], "msg": "Input should be a valid UUID", "type": "uuid_parsing"},
        ]
    }
    error = error_for(httpx.Response(422, json=body))

    assert isinstance(error, LangSmithValidationError)
    assert error.details == [
        {
            "loc": ["body", "expires_at"],
            "msg": "Input should be a valid datetime",
            "type": "datetime_parsing",
        },
        {"loc": ["path", "api_key_id"], "msg": "Input should be a valid UUID", "type": "uuid_parsing"},
    ]
    assert "body.expires_at: Input should be a valid datetime; path.api_key_id: Input should" in str(error)
    assert "soon" not in str(error)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0), (None, None)],
)
def test_rate_limit_error_carries_retry_after(header: str | None, seconds: float | None) -> None:
    headers = {"Retry-After": header} if header else {}
    error = error_for(httpx.Response(429, headers=headers, json={"detail": "Too many requests"}))

    assert isinstance(error, LangSmithRateLimitError)
    assert error.retry_after == seconds


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("0", 0.0),
        ("2.5", 2.5),
        (" 30 ", 30.0),
        ("-5", 0.0),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),
        ("Sun, 01 Mar 2026 12:00:30 -0000", 30.0),
        ("soon", None),
        ("inf", None),
        ("nan", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_http_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_long_explanations_are_truncated() -> None:
    error = error_for(httpx.Response(500, json={"detail": "x" * 5000}))

    assert len(error.message) < 400
    assert error.message.endswith("…")


def test_key_shaped_text_in_a_body_is_masked() -> None:
    error = error_for(httpx.Response(401, json={"detail": f"invalid key {SECRET}"}))

    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert "invalid key lsv2_sk_***" in str(error)


def test_a_non_json_body_is_not_quoted() -> None:
    error = error_for(httpx.Response(502, text="<html><body>nginx: upstream sent garbage</body></html>"))

    assert isinstance(error, LangSmithServerError)
    assert error.message == "HTTP 502 Bad Gateway"

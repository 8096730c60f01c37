import json
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from rotator.domain.keys import ApiKey, CreatedKey, KeyKind
from rotator.langsmith import (
    CreateOutcomeUnknownError,
    CreateResponseMalformedError,
    LangSmithClient,
    LangSmithConflictError,
    LangSmithError,
    LangSmithMalformedResponseError,
    LangSmithNotFoundError,
    LangSmithPermissionError,
    LangSmithRateLimitError,
    LangSmithServerError,
    LangSmithUnavailableError,
    LangSmithValidationError,
    RetryPolicy,
)

API_KEY = "lsv2_sk_" + "a1" * 16 + "_" + "b2" * 5
SECRET = "lsv2_sk_" + "c3" * 16 + "_" + "d4" * 5  # the new key a create returns
ORG_ID = "0b7c3f9e-54a3-4f7e-8d1c-2a4b6c8d0e1f"
WORKSPACE_ID = "9e8d7c6b-5a49-4382-a716-f5e4d3c2b1a0"
KEY_ID = "6f1c3c52-93f4-4a5e-9d2a-6f0f4f2b7a11"
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)

KEY_JSON = {
    "id": KEY_ID,
    "short_key": "lsv2_sk_c3...",
    "description": "ci",
    "expires_at": "2030-01-01T00:00:00Z",
}
CREATED_JSON = {**KEY_JSON, "key": SECRET}

Reply = httpx.Response | Exception
Call = Callable[[LangSmithClient], object]


@dataclass
class Harness:
    client: LangSmithClient
    requests: list[httpx.Request]
    sleeps: list[float]


def harness(*replies: Reply, **options: Any) -> Harness:
    """A client whose server answers with ``replies`` in turn; sleeps are recorded and advance its clock."""
    script = list(replies)
    requests: list[httpx.Request] = []
    sleeps: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        reply = script.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    settings: dict[str, Any] = {"endpoint": "https://api.smith.langchain.com", "api_key": API_KEY} | options
    client = LangSmithClient(
        **settings, transport=httpx.MockTransport(handle), sleep=sleeps.append, clock=lambda: sum(sleeps)
    )
    return Harness(client, requests, sleeps)


def ok(body: object) -> httpx.Response:
    return httpx.Response(200, json=body)


def status(code: int, body: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(code, json=body or {"detail": "nope"}, headers=headers)


def create_org_key(client: LangSmithClient) -> CreatedKey:
    return client.create_org_service_key(description="ci", expires_at=EXPIRES, workspace_ids=None)


# (call, reply body, method, path, takes X-Tenant-Id)
OPERATIONS = [
    pytest.param(LangSmithClient.org_info, {"id": ORG_ID}, "GET", "/api/v1/orgs/current/info", False, id="info"),
    pytest.param(LangSmithClient.list_org_service_keys, [], "GET", "/api/v1/orgs/current/service-keys", False, id="E4"),
    pytest.param(
        LangSmithClient.list_personal_access_tokens,
        [],
        "GET",
        "/api/v1/orgs/current/personal-access-tokens",
        False,
        id="E8",
    ),
    pytest.param(LangSmithClient.list_workspaces, [], "GET", "/api/v1/workspaces", False, id="workspaces"),
    pytest.param(LangSmithClient.list_roles, [], "GET", "/api/v1/orgs/current/roles", False, id="roles"),
    pytest.param(create_org_key, CREATED_JSON, "POST", "/api/v1/orgs/current/service-keys", False, id="E5"),
    pytest.param(
        lambda c: c.delete_org_service_key(KEY_ID),
        KEY_JSON,
        "DELETE",
        f"/api/v1/orgs/current/service-keys/{KEY_ID}",
        False,
        id="E6",
    ),
    pytest.param(LangSmithClient.list_workspace_service_keys, [], "GET", "/api/v1/api-key", True, id="E1"),
]


@pytest.mark.parametrize(("call", "body", "method", "path", "tenant_scoped"), OPERATIONS)
def test_each_operation_sends_its_route_and_scope_headers(
    call: Call, body: object, method: str, path: str, tenant_scoped: bool
) -> None:
    h = harness(ok(body), organization_id=ORG_ID, workspace_id=WORKSPACE_ID)

    call(h.client)

    [request] = h.requests
    assert (request.method, request.url.path) == (method, path)
    assert request.headers["X-API-Key"] == API_KEY
    assert request.headers["X-Organization-Id"] == ORG_ID
    assert request.headers.get("X-Tenant-Id") == (WORKSPACE_ID if tenant_scoped else None)
    assert request.headers["User-Agent"].startswith("langsmith-key-rotator/")


@pytest.mark.parametrize(("call", "body", "method", "path", "tenant_scoped"), OPERATIONS)
def test_scope_headers_are_left_out_when_the_ids_are_unknown(
    call: Call, body: object, method: str, path: str, tenant_scoped: bool
) -> None:
    h = harness(ok(body))

    call(h.client)

    assert "X-Organization-Id" not in h.requests[0].headers
    assert "X-Tenant-Id" not in h.requests[0].headers


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        (
            "https://eu.api.smith.langchain.com/",
            "https://eu.api.smith.langchain.com/api/v1/orgs/current/info",
        ),
        ("http://langsmith.internal:1984/api/v1", "http://langsmith.internal:1984/api/v1/orgs/current/info"),
        (
            "https://tools.example.com/langsmith/api",
            "https://tools.example.com/langsmith/api/v1/orgs/current/info",
        ),
    ],
)
def test_routes_are_joined_to_the_normalised_endpoint(endpoint: str, url: str) -> None:
    h = harness(ok({"id": ORG_ID}), endpoint=endpoint)

    h.client.org_info()

    assert str(h.requests[0].url) == url


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (LangSmithClient.list_org_service_keys, KeyKind.SERVICE_KEY),
        (LangSmithClient.list_workspace_service_keys, KeyKind.SERVICE_KEY),
        (LangSmithClient.list_personal_access_tokens, KeyKind.PERSONAL_ACCESS_TOKEN),
    ],
)
def test_listed_keys_are_tagged_with_the_kind_of_their_endpoint(
    call: Callable[[LangSmithClient], list[ApiKey]], kind: KeyKind
) -> None:
    [key] = call(harness(ok([KEY_JSON])).client)

    assert (key.id, key.kind, key.expires_at) == (KEY_ID, kind, EXPIRES)


def test_a_malformed_list_item_is_skipped_and_the_rest_returned() -> None:
    keys = harness(ok([KEY_JSON, {"description": "no id"}])).client.list_org_service_keys()

    assert [key.id for key in keys] == [KEY_ID]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (httpx.Response(200, text="<html>maintenance</html>"), "not valid JSON"),
        (ok({"keys": []}), "expected a JSON array of service_keys, got object"),
    ],
)
def test_an_unreadable_list_is_a_malformed_response(reply: httpx.Response, reason: str) -> None:
    with pytest.raises(LangSmithMalformedResponseError) as caught:
        harness(reply).client.list_org_service_keys()

    assert not isinstance(caught.value, CreateOutcomeUnknownError)
    assert reason in str(caught.value)
    assert caught.value.status == 200


def test_org_key_create_sends_scope_roles_and_utc_expiry() -> None:
    h = harness(ok(CREATED_JSON))
    in_utc_plus_2 = datetime(2030, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))

    created = h.client.create_org_service_key(
        description="ci",
        expires_at=in_utc_plus_2,
        workspace_ids=[WORKSPACE_ID],
        role_id="r-1",
        org_role_id="o-1",
    )

    assert created.secret == SECRET
    assert created.key.id == KEY_ID
    assert _json(h.requests[0]) == {
        "description": "ci",
        "expires_at": "2030-01-01T00:00:00Z",
        "workspaces": [WORKSPACE_ID],
        "role_id": "r-1",
        "org_role_id": "o-1",
    }


def test_an_org_wide_never_expiring_key_sends_explicit_nulls() -> None:
    h = harness(ok(CREATED_JSON))

    h.client.create_org_service_key(description="ci", expires_at=None, workspace_ids=None)

    assert _json(h.requests[0]) == {"description": "ci", "expires_at": None, "workspaces": None}


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"expires_at": datetime(2030, 1, 1)}, ValueError, "timezone-aware"),
        ({"workspace_ids": []}, ValueError, "pass None for an org-wide key"),
        ({"workspace_ids": WORKSPACE_ID}, TypeError, "not one string"),
    ],
)
def test_a_bad_create_argument_is_refused_before_sending(
    options: dict[str, Any], error: type[Exception], match: str
) -> None:
    h = harness()
    arguments: dict[str, Any] = {"description": "ci", "expires_at": EXPIRES, "workspace_ids": None} | options

    with pytest.raises(error, match=match):
        h.client.create_org_service_key(**arguments)

    assert h.requests == []


@pytest.mark.parametrize(
    "failure",
    [
        status(500),
        status(502),
        status(503, **{"Retry-After": "1"}),
        httpx.ReadTimeout("read timed out"),
        httpx.WriteTimeout("write timed out"),
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("server disconnected without sending a response"),
    ],
)
def test_a_create_whose_outcome_is_unknown_is_not_retried(failure: Reply) -> None:
    h = harness(failure, ok(CREATED_JSON))

    with pytest.raises(CreateOutcomeUnknownError) as caught:
        create_org_key(h.client)

    assert len(h.requests) == 1
    assert h.sleeps == []
    assert "list keys to find out" in str(caught.value)


@pytest.mark.parametrize(
    "rejection",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.PoolTimeout("no connection available"),
    ],
)
def test_a_create_the_server_never_processed_is_retried(rejection: Reply) -> None:
    h = harness(rejection, ok(CREATED_JSON))

    created = create_org_key(h.client)

    assert isinstance(created, CreatedKey)
    assert [r.method for r in h.requests] == ["POST", "POST"]


def test_a_create_answered_429_is_not_retried_its_outcome_is_unknown() -> None:
    """A gateway may answer 429 after LangSmith took the request: a retry could make a second key."""
    h = harness(status(429, **{"Retry-After": "1"}), ok(CREATED_JSON))

    with pytest.raises(CreateOutcomeUnknownError) as caught:
        create_org_key(h.client)

    assert len(h.requests) == 1
    assert caught.value.status == 429
    assert "list keys to find out" in str(caught.value)


@pytest.mark.parametrize(
    ("rejection", "error_type"),
    [
        (status(403, {"error": "Forbidden"}), LangSmithPermissionError),
        (status(409), LangSmithConflictError),
        (
            status(422, {"detail": [{"loc": ["body", "workspaces"], "msg": "bad", "type": "x"}]}),
            LangSmithValidationError,
        ),
    ],
)
def test_a_rejected_create_raises_its_typed_error_once(
    rejection: httpx.Response, error_type: type[LangSmithError]
) -> None:
    h = harness(rejection)

    with pytest.raises(error_type):
        create_org_key(h.client)

    assert len(h.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        ok({k: v for k, v in CREATED_JSON.items() if k != "key"}),
        httpx.Response(200, text=f'{{"key": "{SECRET}"'),
    ],
)
def test_an_unreadable_create_response_is_both_malformed_and_outcome_unknown(reply: httpx.Response) -> None:
    with pytest.raises(CreateResponseMalformedError) as caught:
        create_org_key(harness(reply).client)

    assert isinstance(caught.value, LangSmithMalformedResponseError)
    assert isinstance(caught.value, CreateOutcomeUnknownError)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize(
    "failures",
    [
        [status(500), status(502)],
        [httpx.ReadTimeout("read timed out"), httpx.ConnectError("connection refused")],
        [status(429, **{"Retry-After": "1"}), status(429, **{"Retry-After": "2"})],
    ],
)
def test_a_read_is_retried_until_it_succeeds(failures: list[Reply]) -> None:
    h = harness(*failures, ok([KEY_JSON]))

    assert [key.id for key in h.client.list_org_service_keys()] == [KEY_ID]
    assert len(h.requests) == 3
    assert len(h.sleeps) == 2


def test_a_429_storm_is_waited_out_as_the_server_asks() -> None:
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    h = harness(
        status(429, **{"Retry-After": "5"}),
        status(429, **{"Retry-After": in_a_minute}),
        ok([]),
        retry=RetryPolicy(max_total_seconds=120),
    )

    h.client.list_roles()

    assert h.sleeps[0] == 5.0
    assert 55 <= h.sleeps[1] <= 60


@pytest.mark.parametrize(
    ("failure", "error_type"),
    [(status(503), LangSmithServerError), (httpx.ReadTimeout("read timed out"), LangSmithUnavailableError)],
)
def test_a_read_that_keeps_failing_raises_the_typed_error_after_max_attempts(
    failure: Reply, error_type: type[LangSmithError]
) -> None:
    h = harness(*[failure] * 5)

    with pytest.raises(error_type) as caught:
        h.client.list_org_service_keys()

    assert len(h.requests) == 5
    assert caught.value.path == "/api/v1/orgs/current/service-keys"


def test_a_read_gives_up_when_retry_after_exceeds_the_budget() -> None:
    h = harness(status(429, **{"Retry-After": "3600"}))

    with pytest.raises(LangSmithRateLimitError) as caught:
        h.client.list_org_service_keys()

    assert caught.value.retry_after == 3600
    assert (len(h.requests), h.sleeps) == (1, [])


def test_delete_returns_the_deleted_key_and_canonicalises_the_id() -> None:
    h = harness(ok(KEY_JSON))

    deleted = h.client.delete_org_service_key(KEY_ID.upper())

    assert deleted.id == KEY_ID
    assert h.requests[0].url.path.endswith(KEY_ID)


def test_a_retried_delete_that_finds_the_key_gone_is_not_found() -> None:
    h = harness(status(500), status(404, {"detail": "API key not found"}))

    with pytest.raises(LangSmithNotFoundError, match="API key not found"):
        h.client.delete_org_service_key(KEY_ID)

    assert [r.method for r in h.requests] == ["DELETE", "DELETE"]


@pytest.mark.parametrize("key_id", ["../orgs/current/info", "", SECRET])
def test_a_key_id_that_is_not_a_uuid_is_refused_without_echoing_it(key_id: str) -> None:
    h = harness()

    with pytest.raises(ValueError, match="not a UUID") as caught:
        h.client.delete_org_service_key(key_id)

    assert h.requests == []
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("api_key", ["", f"{API_KEY}\n", f"Bearer {API_KEY}"])
def test_an_api_key_that_cannot_be_a_header_is_refused_without_echoing_it(api_key: str) -> None:
    with pytest.raises(ValueError, match="api_key") as caught:
        LangSmithClient(endpoint="https://api.smith.langchain.com", api_key=api_key)

    assert API_KEY not in str(caught.value)


def test_each_attempt_is_logged_at_debug_and_reported_to_the_observer(
    logs: list[MutableMapping[str, Any]],
) -> None:
    observed: list[tuple[str, str, int | None, float]] = []
    h = harness(httpx.ConnectError("refused"), status(404), on_request=lambda *event: observed.append(event))

    with pytest.raises(LangSmithNotFoundError):
        h.client.delete_org_service_key(KEY_ID)

    route = "/api/v1/orgs/current/service-keys/{api_key_id}"
    assert [(m, r, s) for m, r, s, _ in observed] == [("DELETE", route, None), ("DELETE", route, 404)]
    requests = [e for e in logs if e["event"] == "langsmith.request"]
    assert [(e["log_level"], e["status"], e["attempt"]) for e in requests] == [
        ("debug", None, 1),
        ("debug", 404, 2),
    ]
    assert all(e["route"] == route for e in requests)


@pytest.mark.parametrize(
    "reply",
    [
        ok(CREATED_JSON),
        status(500),
        httpx.ReadTimeout("read timed out"),
        ok({k: v for k, v in CREATED_JSON.items() if k != "key"}),
        httpx.Response(200, text=f'{{"key": "{SECRET}", "id": '),
        status(401, {"detail": f"bad key {API_KEY}"}),
        status(422, {"detail": [{"loc": ["body"], "msg": "bad", "type": "x", "input": SECRET}]}),
    ],
)
def test_no_secret_reaches_errors_reprs_or_logs(reply: Reply, logs: list[MutableMapping[str, Any]]) -> None:
    h = harness(reply)
    try:
        outcome: object = create_org_key(h.client)
    except LangSmithError as error:
        outcome = error

    # An error's attributes (message, details, ...) are in its __dict__; a CreatedKey has none.
    surfaces = [str(outcome), repr(outcome), repr(getattr(outcome, "__dict__", None)), repr(logs)]
    assert logs
    assert not [s for s in surfaces if SECRET in s or API_KEY in s]


def test_the_client_is_closed_on_leaving_its_context() -> None:
    h = harness(ok({"id": ORG_ID}))

    with h.client as client:
        client.org_info()

    with pytest.raises(RuntimeError, match="closed"):
        client.org_info()


def _json(request: httpx.Request) -> object:
    return json.loads(request.content)


def test_current_workspace_sends_the_tenant_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": WORKSPACE_ID, "display_name": "production", "tenant_handle": "p"})

    client = LangSmithClient(
        endpoint="https://api.smith.langchain.com",
        api_key=API_KEY,
        workspace_id=WORKSPACE_ID,
        transport=httpx.MockTransport(handler),
    )
    workspace = client.current_workspace()
    assert (workspace.id, workspace.display_name) == (WORKSPACE_ID, "production")
    assert seen[0].url.path == "/api/v1/settings"
    assert seen[0].headers["X-Tenant-Id"] == WORKSPACE_ID

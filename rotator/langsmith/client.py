"""The LangSmith API-key management client: sync httpx, typed errors, bounded retries.

Create safety: LangSmith shows a new key's secret only in the create response and takes no idempotency key,
so a create retried blindly can leave an orphan key that nobody holds. A create is retried only when the
server certainly did not act on it:

- the connection was never made (connect error, connect or pool timeout: nothing was sent).

Any other failure once the request may have been sent (5xx, 429, read or write timeout, dropped connection)
raises ``CreateOutcomeUnknownError``, and so does a success whose body cannot be read
(``CreateResponseMalformedError`` is both). A 429 is usually a refusal, but one that a gateway answers after
the request went on is not, and a create retried then would leave the first key behind. The caller reconciles
by listing keys; the rotation saga journals its intent before calling create. Other 4xx answers mean no key was
made (typed errors as usual).

GETs and DELETEs are retried on 429, 5xx and transport errors. DELETE is idempotent: a retry that finds the
key already gone raises ``LangSmithNotFoundError``, which callers treat as done.

Redirects are not followed, since httpx would forward ``X-API-Key`` to whatever host a redirect names.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol, Self, TypeVar

import httpx
import structlog

from rotator import __version__
from rotator.domain.keys import ApiKey, CreatedKey, KeyKind, OrgInfo, Role, Workspace
from rotator.langsmith import routes
from rotator.langsmith.budget import RequestBudget
from rotator.langsmith.endpoints import normalize_endpoint
from rotator.langsmith.errors import (
    CreateOutcomeUnknownError,
    CreateResponseMalformedError,
    LangSmithAuthError,
    LangSmithError,
    LangSmithMalformedResponseError,
    LangSmithRateLimitError,
    LangSmithServerError,
    LangSmithUnavailableError,
    error_from_response,
)
from rotator.langsmith.parsing import (
    ShapeError,
    parse_api_key,
    parse_created_key,
    parse_list,
    parse_org_info,
    parse_role,
    parse_workspace,
)
from rotator.langsmith.retry import DEFAULT_RETRY, retrying
from rotator.langsmith.routes import Route
from rotator.observability import safe_text
from rotator.retry import RetryPolicy
from rotator.tls import tls_context

log = structlog.get_logger(__name__)

T = TypeVar("T")
RequestObserver = Callable[[str, str, int | None, float], None]
"""Called after every attempt with (method, route template, status or None, seconds)."""


class ApiKeySource(Protocol):
    """An API key read where it is kept, at use time: a rotated key is picked up without a restart."""

    @property
    def secret(self) -> str:
        """The key to send now."""

    def refresh(self) -> bool:
        """Read the key again after LangSmith refused it; True when it changed (then the call is tried again)."""


class FixedApiKey:
    """A key given as a value: there is nowhere to read it again."""

    def __init__(self, secret: str) -> None:
        _check_api_key(secret)
        self._secret = secret

    def __repr__(self) -> str:
        return "FixedApiKey(<redacted>)"

    @property
    def secret(self) -> str:
        return self._secret

    def refresh(self) -> bool:
        return False


MAX_IDLE_CONNECTIONS = 64
# Failures before any byte of the request left: safe to retry even a create.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class LangSmithClient:
    """One API key against one endpoint. ``sleep``, ``clock``: seams for tests; ``on_request``: metrics.

    ``api_key`` is a value, or a source read at each request; when LangSmith answers 401 and the source then
    holds another key (rotated since it was read), the call is made once more with it.

    ``organization_id`` goes out as ``X-Organization-Id`` on every request, ``workspace_id`` as
    ``X-Tenant-Id`` on workspace routes (E1-E3); without it LangSmith uses the key's own workspace.

    ``connections``: a pool shared with other clients (see ``http_connections``), else the client opens its own.
    ``budget``: the admin key's request budget, drawn from before every attempt; a 429's ``Retry-After`` then
    holds back every client of that budget, and the wait counts as pacing, not against ``retry``'s time.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        api_key: str | ApiKeySource,
        organization_id: str | None = None,
        workspace_id: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        transport: httpx.BaseTransport | None = None,
        connections: httpx.Client | None = None,
        budget: RequestBudget | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_request: RequestObserver | None = None,
    ) -> None:
        self._key = FixedApiKey(api_key) if isinstance(api_key, str) else api_key
        self.endpoint = normalize_endpoint(endpoint)
        self._workspace_id = workspace_id
        self._retry = retry
        self._budget = budget
        self._sleep = sleep
        self._clock = clock
        self._on_request = on_request
        self._headers = {"User-Agent": f"langsmith-key-rotator/{__version__}"}
        if organization_id:
            self._headers["X-Organization-Id"] = organization_id
        self._owns_connections = connections is None
        self._http = connections or http_connections(timeout=timeout, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_connections:
            self._http.close()

    def org_info(self) -> OrgInfo:
        return self._call(routes.ORG_INFO, parse_org_info)

    def current_workspace(self) -> Workspace:
        """The workspace this key acts in: any valid key may read it, so it proves a key authenticates."""
        return self._call(routes.CURRENT_WORKSPACE, parse_workspace)

    def list_org_service_keys(self) -> list[ApiKey]:
        """Org-wide and workspace-scoped service keys of the organization (E4)."""
        return self._call(routes.LIST_ORG_SERVICE_KEYS, _key_list(KeyKind.SERVICE_KEY))

    def list_personal_access_tokens(self) -> list[ApiKey]:
        return self._call(routes.LIST_PERSONAL_ACCESS_TOKENS, _key_list(KeyKind.PERSONAL_ACCESS_TOKEN))

    def list_workspace_service_keys(self) -> list[ApiKey]:
        """Service keys of the current workspace (E1): ``workspace_id``, or the key's own workspace."""
        return self._call(routes.LIST_WORKSPACE_SERVICE_KEYS, _key_list(KeyKind.SERVICE_KEY))

    def list_workspaces(self) -> list[Workspace]:
        return self._call(routes.WORKSPACES, lambda body: parse_list(body, parse_workspace, what="workspaces"))

    def list_roles(self) -> list[Role]:
        return self._call(routes.ROLES, lambda body: parse_list(body, parse_role, what="roles"))

    def create_org_service_key(
        self,
        *,
        description: str,
        expires_at: datetime | None,
        workspace_ids: Sequence[str] | None,
        role_id: str | None = None,
        org_role_id: str | None = None,
    ) -> CreatedKey:
        """E5: ``workspace_ids`` None makes an org-wide key. Failures: see the module docstring."""
        body = _create_body(description, expires_at, role_id=role_id, org_role_id=org_role_id)
        body["workspaces"] = _workspace_list(workspace_ids)
        return self._call(routes.CREATE_ORG_SERVICE_KEY, _created_service_key, body=body)

    def delete_org_service_key(self, key_id: str) -> ApiKey:
        """E6; returns the deleted key. An unknown id raises LangSmithNotFoundError."""
        return self._call(routes.DELETE_ORG_SERVICE_KEY, _service_key, key_id=key_id)

    def _call(
        self,
        route: Route,
        parse: Callable[[object], T],
        *,
        key_id: str | None = None,
        body: Mapping[str, object] | None = None,
    ) -> T:
        path = route.path(_canonical_uuid(key_id) if key_id is not None else None)
        try:
            response = self._send(route, path, body)
        except LangSmithAuthError:
            # A 401 is an answer that nothing was done, so even a create may be sent again with the new key.
            if not self._key.refresh():
                raise
            log.info("langsmith.api_key_reread", route=route.template)
            response = self._send(route, path, body)
        try:
            return parse(_decode(response))
        except ShapeError as error:
            error_type = LangSmithMalformedResponseError if route.idempotent else CreateResponseMalformedError
            # ``from None``: a parser exception may hold the body, and a create's body holds the secret.
            raise error_type(
                str(error), method=route.method, path=route.template, status=response.status_code
            ) from None

    def _send(self, route: Route, path: str, body: Mapping[str, object] | None) -> httpx.Response:
        attempts = itertools.count(1)
        paced = _PacedClock(self._clock)
        controller = retrying(self._retry, sleep=self._sleep, clock=paced, paced=self._budget is not None)
        return controller(lambda: self._attempt(route, path, body, next(attempts), paced))

    def _attempt(
        self, route: Route, path: str, body: Mapping[str, object] | None, attempt: int, paced: _PacedClock
    ) -> httpx.Response:
        if self._budget is not None:
            paced.exclude(self._budget.acquire())
        started = self._clock()
        try:
            response = self._http.request(
                route.method, self.endpoint + path, json=body, headers=self._request_headers(route)
            )
        except httpx.TransportError as error:
            self._observe(route, path, None, started, attempt)
            unavailable = LangSmithUnavailableError(
                safe_text(f"{type(error).__name__}: {error}"), method=route.method, path=route.template
            )
            sent = not isinstance(error, _NOT_SENT)
            raise _as_create_outcome(route, unavailable, maybe_processed=sent) from error
        self._observe(route, path, response.status_code, started, attempt)
        if response.is_success:
            return response
        failure = error_from_response(response, method=route.method, path=route.template)
        if self._budget is not None and isinstance(failure, LangSmithRateLimitError) and failure.retry_after:
            self._budget.hold_off(failure.retry_after)
        # A 429 too: it may come from a gateway after LangSmith took the request, and a create retried then makes
        # a second key while the first, whose secret nobody saw, is left behind.
        maybe_processed = isinstance(failure, LangSmithServerError | LangSmithRateLimitError)
        raise _as_create_outcome(route, failure, maybe_processed=maybe_processed)

    def _request_headers(self, route: Route) -> dict[str, str]:
        headers = {**self._headers, "X-API-Key": self._key.secret}
        if route.tenant_scoped and self._workspace_id:
            headers["X-Tenant-Id"] = self._workspace_id
        return headers

    def _observe(self, route: Route, path: str, status: int | None, started: float, attempt: int) -> None:
        seconds = self._clock() - started
        log.debug(
            "langsmith.request",
            method=route.method,
            route=route.template,
            path=path,
            status=status,
            duration_s=round(seconds, 3),
            attempt=attempt,
        )
        if self._on_request is not None:
            self._on_request(route.method, route.template, status, seconds)


def http_connections(*, timeout: float, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A connection pool for LangSmith clients; one may serve every org and endpoint of a process (httpx's
    client is thread-safe), so polls reuse connections instead of each opening its own. Its size is left to the
    callers' thread pools and request budgets."""
    return httpx.Client(
        timeout=timeout,
        transport=transport,
        verify=tls_context(),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=MAX_IDLE_CONNECTIONS),
    )


class _PacedClock:
    """The retry budget's clock: time spent waiting for the request budget is pacing, not retrying."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._excluded = 0.0

    def __call__(self) -> float:
        return self._clock() - self._excluded

    def exclude(self, seconds: float) -> None:
        self._excluded += seconds


def _as_create_outcome(route: Route, failure: LangSmithError, *, maybe_processed: bool) -> LangSmithError:
    """``failure``, unless it leaves a create's outcome unknown."""
    if route.idempotent or not maybe_processed:
        return failure
    return CreateOutcomeUnknownError(
        f"{failure.message}; a key may or may not have been created: list keys to find out",
        method=route.method,
        path=route.template,
        status=failure.status,
    )


def _key_list(kind: KeyKind) -> Callable[[object], list[ApiKey]]:
    return lambda body: parse_list(body, lambda raw: parse_api_key(raw, kind), what=f"{kind}s")


def _service_key(body: object) -> ApiKey:
    return parse_api_key(body, KeyKind.SERVICE_KEY)


def _created_service_key(body: object) -> CreatedKey:
    return parse_created_key(body, KeyKind.SERVICE_KEY)


def _decode(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        raise ShapeError("response body is not valid JSON") from None


def _create_body(
    description: str,
    expires_at: datetime | None,
    *,
    role_id: str | None = None,
    org_role_id: str | None = None,
) -> dict[str, object]:
    body: dict[str, object] = {"description": description, "expires_at": _iso_utc(expires_at)}
    roles = {"role_id": role_id, "org_role_id": org_role_id}
    body.update({name: value for name, value in roles.items() if value is not None})
    return body


def _iso_utc(moment: datetime | None) -> str | None:
    """None stays None: LangSmith reads ``expires_at: null`` as "never expires"."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _workspace_list(workspace_ids: Sequence[str] | None) -> list[str] | None:
    if isinstance(workspace_ids, str):
        raise TypeError("workspace_ids must be a sequence of ids, not one string")
    if workspace_ids is not None and not workspace_ids:
        raise ValueError("workspace_ids is empty: pass None for an org-wide key")
    return None if workspace_ids is None else list(workspace_ids)


def _canonical_uuid(key_id: str) -> str:
    try:
        return str(uuid.UUID(key_id))
    except ValueError:
        # The value is not echoed: it could be a secret passed by mistake.
        raise ValueError("key_id is not a UUID") from None


def _check_api_key(api_key: str) -> None:
    if not api_key:
        raise ValueError("api_key is empty")
    if not (api_key.isascii() and api_key.isprintable()) or " " in api_key:
        raise ValueError("api_key must be printable ASCII without spaces (a stray newline?)")

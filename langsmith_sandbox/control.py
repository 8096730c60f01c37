"""The /_sandbox control API: drive the clock, faults, the rate limit and seeds, and inspect keys and counters.

No authentication: the server only ever listens on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from langsmith_sandbox import views
from langsmith_sandbox.faults import FaultRule
from langsmith_sandbox.messages import ApiError, Request, Response
from langsmith_sandbox.model import KeyRecord
from langsmith_sandbox.rate_limit import DEFAULT_WINDOW_SECONDS, RateLimitSettings
from langsmith_sandbox.routing import Router
from langsmith_sandbox.seed import SeedError, load_seed
from langsmith_sandbox.state import SandboxState

CONTROL_PREFIX = "/_sandbox"

ControlHandler = Callable[[Request, dict[str, str]], Response]


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, {"detail": detail})


def _json_object(request: Request) -> dict[str, object]:
    try:
        value = json.loads(request.body or b"{}")
    except ValueError as exc:
        raise _bad_request(f"body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise _bad_request("body must be a JSON object")
    return value


class ControlApi:
    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._router: Router[ControlHandler] = Router()
        routes: tuple[tuple[str, str, ControlHandler], ...] = (
            ("GET", "/clock", self._get_clock),
            ("POST", "/clock", self._set_clock),
            ("GET", "/faults", self._list_faults),
            ("POST", "/faults", self._add_fault),
            ("DELETE", "/faults", self._clear_faults),
            ("DELETE", "/faults/{fault_id}", self._remove_fault),
            ("POST", "/seed", self._seed),
            ("GET", "/keys", self._list_keys),
            ("GET", "/requests", self._request_counts),
            ("DELETE", "/requests", self._reset_request_counts),
            ("GET", "/rate-limit", self._get_rate_limit),
            ("POST", "/rate-limit", self._set_rate_limit),
            ("DELETE", "/rate-limit", self._clear_rate_limit),
        )
        for method, path, handler in routes:
            self._router.add(method, CONTROL_PREFIX + path, handler)

    def handle(self, request: Request) -> Response:
        try:
            match = self._router.match(request.method, request.path)
            return match.route.handler(request, match.params)
        except ApiError as error:
            return error.response

    def _get_clock(self, request: Request, params: dict[str, str]) -> Response:
        clock = self._state.clock
        return Response(200, {"now": clock.now().isoformat(), "frozen": clock.frozen})

    def _set_clock(self, request: Request, params: dict[str, str]) -> Response:
        """``{"now": iso}`` freezes the clock there, ``{"advance_seconds": n}`` moves it, ``{"real": true}``
        returns to real time."""
        body = _json_object(request)
        clock = self._state.clock
        now, advance, real = body.get("now"), body.get("advance_seconds"), body.get("real")
        if sum(value is not None for value in (now, advance, real)) != 1:
            raise _bad_request("give exactly one of now, advance_seconds or real")
        if isinstance(now, str):
            try:
                clock.set(datetime.fromisoformat(now))
            except ValueError as exc:
                raise _bad_request(f"now: {exc}") from None
        elif isinstance(advance, int | float) and not isinstance(advance, bool):
            clock.advance(advance)
        elif real is True:
            clock.follow_real_time()
        else:
            raise _bad_request("now must be an ISO 8601 string, advance_seconds a number, real true")
        return self._get_clock(request, params)

    def _list_faults(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, [armed.to_json() for armed in self._state.faults.active()])

    def _add_fault(self, request: Request, params: dict[str, str]) -> Response:
        try:
            rule = FaultRule.from_json(_json_object(request))
        except (TypeError, ValueError) as exc:
            raise _bad_request(f"invalid fault: {exc}") from None
        return Response(201, {"id": self._state.faults.add(rule), **rule.to_json()})

    def _clear_faults(self, request: Request, params: dict[str, str]) -> Response:
        self._state.faults.clear()
        return Response(200, [])

    def _remove_fault(self, request: Request, params: dict[str, str]) -> Response:
        if not self._state.faults.remove(params["fault_id"]):
            raise ApiError(404, {"detail": f"no fault {params['fault_id']}"})
        return Response(200, {"id": params["fault_id"]})

    def _seed(self, request: Request, params: dict[str, str]) -> Response:
        """The body is a YAML or JSON seed (JSON is YAML); the answer includes revealed secrets."""
        try:
            result = load_seed(self._state, request.body.decode("utf-8"))
        except (SeedError, UnicodeDecodeError) as exc:
            raise _bad_request(str(exc)) from None
        return Response(201, result.to_json())

    def _list_keys(self, request: Request, params: dict[str, str]) -> Response:
        with self._state.lock:
            return Response(200, [_key_record(key) for key in self._state.all_keys()])

    def _request_counts(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, self._state.stats.snapshot())

    def _reset_request_counts(self, request: Request, params: dict[str, str]) -> Response:
        self._state.stats.reset()
        return Response(200, self._state.stats.snapshot())

    def _get_rate_limit(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, self._state.rate_limit.snapshot())

    def _set_rate_limit(self, request: Request, params: dict[str, str]) -> Response:
        """``{"requests_per_minute": n}``, optionally ``"window_seconds"`` (default 60): a limit per API key,
        replacing any before it (its windows start empty)."""
        body = _json_object(request)
        unknown = sorted(set(body) - {"requests_per_minute", "window_seconds"})
        if unknown:
            raise _bad_request(f"unknown rate-limit field(s) {unknown}; known: requests_per_minute, window_seconds")
        if "requests_per_minute" not in body:
            raise _bad_request("give requests_per_minute")
        window = body.get("window_seconds", DEFAULT_WINDOW_SECONDS)
        try:
            settings = RateLimitSettings(body["requests_per_minute"], window)  # type: ignore[arg-type]
        except ValueError as exc:
            raise _bad_request(f"invalid rate limit: {exc}") from None
        self._state.rate_limit.configure(settings)
        return Response(200, self._state.rate_limit.snapshot())

    def _clear_rate_limit(self, request: Request, params: dict[str, str]) -> Response:
        self._state.rate_limit.configure(None)
        return Response(200, self._state.rate_limit.snapshot())


def _key_record(key: KeyRecord) -> dict[str, object]:
    """Everything the sandbox knows about a key except the secret, of which only a SHA-256 is kept."""
    return {
        "id": key.id,
        "kind": key.kind,
        "organization_id": key.organization_id,
        "workspace_ids": list(key.workspace_ids),
        "access_scope": key.access_scope,
        "role_id": key.role_id,
        "org_role_id": key.org_role_id,
        "owner_user_id": key.owner_user_id,
        "default_workspace_id": key.default_workspace_id,
        "description": key.description,
        "short_key": key.short_key,
        "secret_sha256": key.secret_sha256,
        "read_only": key.read_only,
        "created_at": views.iso(key.created_at),
        "expires_at": views.iso(key.expires_at),
        "last_used_at": views.iso(key.last_used_at),
        "deleted_at": views.iso(key.deleted_at),
        "requests": dict(key.requests),
    }

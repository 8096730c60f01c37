"""The sandbox LangSmith served in-process: an httpx transport that hands each request to the sandbox's
application object, with no socket, no thread and no server.

A real :class:`~rotator.langsmith.LangSmithClient` over :class:`InProcessTransport` talks to a
:class:`~langsmith_sandbox.SandboxState` and its faults (``state.faults.add(FaultRule(...))``) as it would over
loopback: a dropped connection becomes :class:`httpx.RemoteProtocolError`. Injected latency is not waited out:
it is added up per request, and a request whose latency exceeds the client's read timeout raises
:class:`httpx.ReadTimeout` once the sandbox has handled it (so a create timed out that way has landed).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import httpx

from langsmith_sandbox import SandboxClock, SandboxState
from langsmith_sandbox.messages import Request
from langsmith_sandbox.server import SandboxApp
from rotator.langsmith import ApiKeySource, LangSmithClient, RetryPolicy
from tests.support.orgs import SANDBOX_T0, SmallOrg, seed_small_org

ENDPOINT = "https://langsmith.in-process.invalid"
"""Where in-process clients say they connect; nothing resolves or dials it."""

FAST_RETRY = RetryPolicy(max_attempts=3, max_total_seconds=60.0, base_delay=0.0, max_delay=0.0)
"""Retries as production makes them, without the waits (the clients' ``sleep`` does nothing anyway)."""


class _AddedLatency(threading.Event):
    """The app's latency waits, recorded instead of slept: never set, so the app goes on as after a timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0

    def wait(self, timeout: float | None = None) -> bool:
        self.seconds += timeout or 0.0
        return False


class InProcessTransport(httpx.BaseTransport):
    """Serves requests from a sandbox state's application object, in the calling thread."""

    def __init__(self, state: SandboxState) -> None:
        self._latency = _AddedLatency()
        self._app = SandboxApp(state, self._latency)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers: dict[str, str] = {}
        for name, value in request.headers.multi_items():
            headers.setdefault(name.lower(), value)  # the first of repeated headers wins, as over HTTP
        self._latency.seconds = 0.0
        answer = self._app.handle(Request(request.method, request.url.path, headers, request.read()))
        read_timeout = request.extensions.get("timeout", {}).get("read")
        if read_timeout is not None and self._latency.seconds > read_timeout:
            raise httpx.ReadTimeout(f"injected latency {self._latency.seconds}s > {read_timeout}s", request=request)
        if answer is None:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        payload, content_type = answer.encode()
        return httpx.Response(
            answer.status,
            headers={"Content-Type": content_type, "Content-Length": str(len(payload)), **answer.headers},
            content=payload,
            request=request,
        )


@dataclass
class InProcessLangSmith:
    """Org "Acme" (workspaces production and staging, an org-wide admin key) in a sandbox served in-process."""

    state: SandboxState
    org: SmallOrg

    @classmethod
    def seeded(cls, now: datetime = SANDBOX_T0) -> InProcessLangSmith:
        """A fresh sandbox whose clock is frozen at ``now``, seeded by ``tests.support.orgs.seed_small_org``."""
        state = SandboxState(SandboxClock(now))
        return cls(state, seed_small_org(state))

    def client(
        self,
        api_key: str | ApiKeySource | None = None,
        *,
        workspace_id: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = FAST_RETRY,
    ) -> LangSmithClient:
        """A real client of org Acme, with ``api_key`` (default: the admin key), served in-process."""
        return LangSmithClient(
            endpoint=ENDPOINT,
            api_key=api_key or self.org.admin.secret,
            organization_id=self.org.org_id,
            workspace_id=workspace_id,
            timeout=timeout,
            retry=retry,
            transport=InProcessTransport(self.state),
            sleep=lambda seconds: None,
        )

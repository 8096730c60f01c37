"""Local HTTP receivers that capture what the sinks send, a fake clock, and sample alerts."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from rotator.alerts.dispatch import Dispatcher, SinkWork
from rotator.domain.alerts import Alert, AlertKind, Notification, Severity

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

# Secrets the tests hand the sinks; none may show up anywhere but where the receiver needs it.
SLACK_PATH = "/services/T0FAKETEAM/B0FAKEHOOK/slackPathSecret0123456789"
WEBHOOK_PATH = "/hooks/webhookPathSecret9876543210"
WEBHOOK_QUERY = "token=webhookQuerySecret55555"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"  # 32 characters, like PagerDuty's
HMAC_SECRET = "hmac-secret-for-tests-0123456789"
SECRETS: tuple[str, ...] = (SLACK_PATH, "slackPathSecret0123456789", "webhookPathSecret9876543210")
SECRETS += ("webhookQuerySecret55555", ROUTING_KEY, HMAC_SECRET)


@dataclass(frozen=True)
class Captured:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    """time.monotonic() when the request arrived."""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0
    """Hold the request this long (or until the receiver is released) before answering."""
    echo: bool = False
    """Append the request's path and body to the answer, as some error pages quote the request."""


class Receiver:
    """A loopback HTTP server recording every request and answering from a script (default: ``default``)."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.requests: list[Captured] = []
        self.released = threading.Event()
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.on_request: Callable[[Captured], None] | None = None
        """Called (in the server thread) with each Captured before answering."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                captured = Captured(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length), time.monotonic()
                )
                reply = receiver._record(captured)
                if receiver.on_request is not None:
                    receiver.on_request(captured)
                if reply.hang:
                    receiver.released.wait(reply.hang)
                body = reply.body.encode()
                if reply.echo:
                    body += b" " + self.path.encode() + b" " + captured.body
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up on a hung request

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order, then with ``default``."""
        with self._lock:
            self._replies.extend(replies)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Captured]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def _record(self, captured: Captured) -> Reply:
        with self._arrived:
            self.requests.append(captured)
            self._arrived.notify_all()
            return self._replies.popleft() if self._replies else self.default

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class FakeClock:
    """A monotonic clock that only ``sleep`` moves; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def key_alert(
    *,
    severity: Severity = Severity.WARNING,
    org: str = "prod-us",
    description: str = "chatbot prod",
    managed: str | None = "chatbot-prod",
    key_kind: str = "service_key",
    alert_id: str | None = None,
    kind: AlertKind = AlertKind.KEY_EXPIRY,
) -> Alert:
    """An alert shaped like the ones rotator.domain.conditions builds for an expiring key."""
    key_id = f"3f1c9a2e-0000-4000-8000-{abs(hash(description)) % 10**12:012d}"
    return Alert(
        id=alert_id or f"key-expiry:{org}:{key_id}",
        kind=kind,
        severity=severity,
        summary=f"LangSmith service key {description!r} (lsv2_sk_3f1c...) in org {org} expires in 5.0 days",
        action="The rotator manages this key as 'chatbot-prod' and replaces it before it expires.",
        details={
            "org": org,
            "description": description,
            "short_key": "lsv2_sk_3f1c...",
            "kind": key_kind,
            "scope": "workspace",
            "workspaces": "production, staging",
            "role": "Workspace Admin",
            "expires_at": "2026-01-20T12:00:00+00:00",
            "status": "warning",
            "managed": managed or "-",
        },
        org=org,
        key_kind=key_kind,
        managed=managed,
        key_id=key_id,
    )


def rotated_event(name: str = "chatbot-prod") -> Alert:
    return Alert(
        id=f"rotation-succeeded:{name}:new-key-id",
        kind=AlertKind.ROTATION_SUCCEEDED,
        severity=Severity.INFO,
        summary=f"managed secret {name!r} (org prod-us) rotated: a new key is in Vault",
        action="old key deleted after its grace period",
        details={"managed": name, "org": "prod-us", "key_id": "new-key-id"},
        org="prod-us",
        key_kind="service_key",
        managed=name,
    )


def trigger(alert: Alert, *, repeat: bool = False) -> Notification:
    return Notification(alert, "trigger", repeat=repeat)


def resolve(alert: Alert) -> Notification:
    return Notification(alert, "resolve")


def to_every_sink(
    dispatcher: Dispatcher, notifications: list[Notification], firing: list[Alert] | None = None
) -> dict[str, SinkWork]:
    """The same work for every sink, for tests about delivery itself (planning and filters are Alerting's)."""
    return {sink.name: SinkWork(notifications, firing or []) for sink in dispatcher.sinks}


def wait_for_alertmanager(url: str, process: subprocess.Popen[bytes], log: Path, **request: Any) -> None:
    """Until ``url``/-/ready answers 200 (``request``: httpx options such as auth and verify); fail the test with
    the end of its log if it exits or takes over 15 seconds."""
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            pytest.fail(f"Alertmanager exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=1, **request).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("Alertmanager did not become ready within 15s")
        time.sleep(0.05)

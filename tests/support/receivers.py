"""Loopback HTTP servers for the alert tests: a receiver that records every request and answers from a script,
and a proxy that makes a real receiver (Alertmanager) fail on demand."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import httpx

from tests.support import leak_scan


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


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing: the tests look at what the servers kept instead."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LoopbackServer:
    """A threaded HTTP server on a free loopback port, serving ``handler`` in a daemon thread from ``start`` to
    ``stop``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, block_on_close: bool = True) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.block_on_close = block_on_close
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Receiver(LoopbackServer):
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

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                captured = Captured(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length), time.monotonic()
                )
                reply = receiver._record(captured)
                leak_scan.collect_request("receiver", receiver.url, captured.path, captured.headers, captured.body)
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

        super().__init__(Handler, block_on_close=False)

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

    def stop(self) -> None:
        self.released.set()
        super().stop()


class FlakyProxy(LoopbackServer):
    """A loopback HTTP proxy in front of a real server (Alertmanager) that answers 503 while ``down`` is set,
    as a receiver having a bad minute would; every request that reached the real server is kept."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.down = threading.Event()
        self.forwarded: list[Any] = []
        self.refused = 0
        proxy = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                leak_scan.collect_request("proxy", proxy.target, self.path, dict(self.headers.items()), body)
                if proxy.down.is_set():
                    proxy.refused += 1
                    self._answer(503, b"down for the test")
                    return
                upstream = httpx.post(
                    proxy.target + self.path, content=body, headers={"Content-Type": "application/json"}, timeout=10
                )
                proxy.forwarded.append(json.loads(body))
                self._answer(upstream.status_code, upstream.content)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)

    def __enter__(self) -> FlakyProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

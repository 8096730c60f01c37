"""The sandbox over real HTTP: a ThreadingHTTPServer on loopback that stops without leaking threads."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

from langsmith_sandbox.api import API_PREFIX, LangSmithApi
from langsmith_sandbox.control import CONTROL_PREFIX, ControlApi
from langsmith_sandbox.faults import FaultRule
from langsmith_sandbox.messages import Request, Response, reason
from langsmith_sandbox.state import SandboxState

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


class SandboxApp:
    """Faults, the rate limit and counters around the two APIs. ``handle`` returns None to drop the connection.

    The rate limit applies where the API would answer: after a fault's "before" latency, and not at all to a
    request a fault answers in the API's place."""

    def __init__(self, state: SandboxState, stopping: threading.Event) -> None:
        self.state = state
        self._api = LangSmithApi(state)
        self._control = ControlApi(state)
        self._stopping = stopping

    def handle(self, request: Request) -> Response | None:
        if request.path.startswith(CONTROL_PREFIX + "/"):
            return self._control.handle(request)
        response = self._respond(request, self.state.faults.take(request.method, request.path))
        route = self._api.route_name(request.method, request.path)
        self.state.stats.record(route, None if response is None else response.status)
        return response

    def _respond(self, request: Request, fault: FaultRule | None) -> Response | None:
        # Event waits, not time.sleep, so that stopping the server cuts injected latency short.
        if fault is None:
            return self._call_api(request)
        if fault.when == "before":
            self._stopping.wait(fault.latency_seconds)
            if fault.replaces_response:
                return _replacement(fault)
            return _reshaped(fault, self._call_api(request))
        response = self._call_api(request)
        self._stopping.wait(fault.latency_seconds)
        return _replacement(fault) if fault.replaces_response else _reshaped(fault, response)

    async def handle_async(self, request: Request) -> Response | None:
        """``handle`` for an event loop: injected latency is an ``asyncio.sleep``, which stopping cancels."""
        if request.path.startswith(CONTROL_PREFIX + "/"):
            return self._control.handle(request)
        response = await self._respond_async(request, self.state.faults.take(request.method, request.path))
        route = self._api.route_name(request.method, request.path)
        self.state.stats.record(route, None if response is None else response.status)
        return response

    async def _respond_async(self, request: Request, fault: FaultRule | None) -> Response | None:
        # The same steps as _respond, awaiting the latency instead of blocking a thread on it.
        if fault is None:
            return self._call_api(request)
        if fault.when == "before":
            await asyncio.sleep(fault.latency_seconds)
            if fault.replaces_response:
                return _replacement(fault)
            return _reshaped(fault, self._call_api(request))
        response = self._call_api(request)
        await asyncio.sleep(fault.latency_seconds)
        return _replacement(fault) if fault.replaces_response else _reshaped(fault, response)

    def _call_api(self, request: Request) -> Response:
        refused = self.state.rate_limit.take(request.header("x-api-key"))
        if refused is not None:  # refused before the API: like LangSmith's, a 429 changes nothing
            return Response(429, refused.body(), {"Retry-After": str(refused.retry_after)})
        try:
            return self._api.handle(request)
        except Exception:
            log.exception("sandbox API failed on %s %s", request.method, request.path)
            return Response(500, {"detail": "Internal Server Error"})


def _reshaped(fault: FaultRule, response: Response) -> Response:
    """The API's answer with the fault's body effects applied, if it is a 2xx JSON body; else as it was."""
    if not fault.reshapes_body or not 200 <= response.status < 300 or response.raw_text is not None:
        return response
    return dataclasses.replace(response, body=fault.reshape(response.body))


def _replacement(fault: FaultRule) -> Response | None:
    """What the client gets instead of the API's answer; None drops the connection."""
    if fault.drop_connection:
        return None
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    if fault.malformed_body is not None:
        return Response(fault.status or 200, headers=headers, raw_text=fault.malformed_body)
    status = fault.status or 500
    body = fault.body if fault.body is not None else {"detail": reason(status)}
    return Response(status, body, headers)


class _HttpServer(ThreadingHTTPServer):
    # Non-daemon handler threads, joined by server_close(); idle keep-alive sockets are shut down first.
    daemon_threads = False
    block_on_close = True
    # socketserver's default listen backlog of 5 drops the SYNs of a client that opens many connections at
    # once, which then waits a second to retry: a benchmark would measure that second, not the sandbox.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        if isinstance(request, socket.socket):
            with self._open_lock:
                self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        if isinstance(request, socket.socket):
            with self._open_lock:
                self._open.discard(request)
        super().shutdown_request(request)

    def disconnect_clients(self) -> None:
        with self._open_lock:
            for connection in self._open:
                with contextlib.suppress(OSError):  # the peer may have closed it already
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up mid-response are routine here (timeouts, dropped-connection faults).
        log.debug("connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real clients and benchmarks expect
    disable_nagle_algorithm = True  # headers and body go out in separate writes; don't wait on delayed ACKs
    server: _HttpServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=urlsplit(self.path).path,
            # Reversed, so that the first of repeated headers wins.
            headers={name.lower(): value for name, value in reversed(self.headers.items())},
            body=self.rfile.read(length) if length > 0 else b"",
        )
        response = self.server.app.handle(request)
        if response is None:
            self.close_connection = True
            return
        payload, content_type = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class SandboxServer:
    """The sandbox LangSmith server on loopback; ``port=0`` picks a free port.

    >>> with SandboxServer() as server:
    ...     server.api_url  # doctest: +SKIP
    'http://127.0.0.1:54321/api/v1'
    """

    def __init__(self, state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        if not is_loopback(host):
            raise ValueError(f"the sandbox listens on loopback only, not {host!r}")
        self.state = state or SandboxState()
        self._address = (host, port)
        self._stopping = threading.Event()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._bound_address()
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            raise RuntimeError("the sandbox server is already running")
        self._stopping.clear()
        self._httpd = _HttpServer(self._address, SandboxApp(self.state, self._stopping))
        # stop() wakes the loop at once; the short poll only bounds the rare race where it cannot.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="langsmith-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        stopper = threading.Thread(target=httpd.shutdown)
        stopper.start()
        # serve_forever notices shutdown() only when its poll wakes; a connection wakes it at once.
        with contextlib.suppress(OSError), socket.create_connection(self._bound_address(), timeout=1):
            pass
        stopper.join()
        httpd.disconnect_clients()
        httpd.server_close()
        thread.join()
        self._httpd = self._thread = None

    def _bound_address(self) -> tuple[str, int]:
        if self._httpd is None:
            raise RuntimeError("the sandbox server is not running")
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

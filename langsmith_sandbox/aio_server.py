"""The sandbox over real HTTP on one asyncio event loop: the same app as ``SandboxServer``, for many connections.

``SandboxServer`` (a ThreadingHTTPServer) gives every connection a thread of its own. With hundreds of
connections at once those threads spend their time waiting for the GIL and starting up, not answering, and the
server becomes what a benchmark measures. This server keeps every connection on one event loop in one thread:
requests are answered one at a time (the API is quick and holds the state's lock anyway), while injected latency
is an ``asyncio.sleep`` that costs nothing. Same URLs, faults, rate limit and counters; HTTP/1.1 with
keep-alive, a ``Content-Length`` body (what HTTP clients send for JSON), no chunked bodies and no TLS.

``start`` runs the loop in a daemon thread; ``stop`` closes the listener, cancels every connection (cutting
injected latency short, as ``SandboxServer.stop`` does) and joins the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import socket
import sys
import threading
from types import TracebackType
from urllib.parse import urlsplit

from langsmith_sandbox.api import API_PREFIX
from langsmith_sandbox.messages import Request, Response, reason
from langsmith_sandbox.server import SandboxApp, is_loopback
from langsmith_sandbox.state import SandboxState

log = logging.getLogger(__name__)

METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
_MAX_HEAD = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024
_SERVER = f"langsmith-sandbox Python/{sys.version.split()[0]}"
START_TIMEOUT = 10.0


class _BadRequest(Exception):
    pass


class AsyncioSandboxServer:
    """The sandbox LangSmith server on loopback, on one event loop; ``port=0`` picks a free port."""

    def __init__(self, state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        if not is_loopback(host):
            raise ValueError(f"the sandbox listens on loopback only, not {host!r}")
        self.state = state or SandboxState()
        self._address = (host, port)
        self._app = SandboxApp(self.state, threading.Event())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._bound: tuple[str, int] | None = None

    @property
    def url(self) -> str:
        host, port = self._bound_address()
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def start(self) -> AsyncioSandboxServer:
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already running")
        # Bound here, so that a busy port raises OSError in the caller, as SandboxServer's does.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(self._address)
            listener.listen(1024)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        host, port = listener.getsockname()[:2]
        self._bound = (str(host), int(port))
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._connection, sock=listener))
            except BaseException as error:  # reported to start() below
                failure.append(error)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="langsmith-sandbox-asyncio", daemon=True)
        self._thread.start()
        if not started.wait(START_TIMEOUT) or failure:
            self._thread.join(START_TIMEOUT)
            self._loop = self._thread = self._server = None
            listener.close()
            raise RuntimeError("the sandbox event loop did not start") from (failure[0] if failure else None)
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            future.result(START_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._loop = self._thread = self._server = None
        self._bound = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _bound_address(self) -> tuple[str, int]:
        if self._bound is None:
            raise RuntimeError("the sandbox server is not running")
        return self._bound

    def __enter__(self) -> AsyncioSandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ── one connection ──────────────────────────────────────────────────────────────────────────────────

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:  # always, inside a connection callback
            self._connections.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            # Cancelled when the server stops; a client may hang up at any point.
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
                keep_alive = True
                while keep_alive:
                    keep_alive = await self._exchange(reader, writer)
        except Exception:  # one connection's failure must not take the server down
            log.debug("connection failed", exc_info=True)
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; whether the connection stays open for another."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            if error.partial.strip():
                await _send(writer, _plain(400, "Bad request"), keep_alive=False)
            return False
        except asyncio.LimitOverrunError:
            await _send(writer, _plain(431, "Request header fields too large"), keep_alive=False)
            return False
        try:
            method, target, version, headers = _parse_head(head)
        except _BadRequest as problem:
            await _send(writer, _plain(400, str(problem)), keep_alive=False)
            return False
        keep_alive = _keeps_alive(version, headers)
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            await _send(writer, _plain(400, "Bad Content-Length"), keep_alive=False)
            return False
        if length < 0 or length > _MAX_BODY:
            await _send(writer, _plain(413, "Request body too large"), keep_alive=False)
            return False
        body = await reader.readexactly(length) if length else b""
        if method not in METHODS:
            await _send(writer, _plain(501, f"Unsupported method ({method!r})"), keep_alive=keep_alive)
            return keep_alive
        request = Request(method=method, path=urlsplit(target).path, headers=headers, body=body)
        response = await self._app.handle_async(request)
        if response is None:  # a dropped-connection fault: close without a word
            return False
        await _send(writer, response, keep_alive=keep_alive)
        return keep_alive


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise _BadRequest(f"Bad request syntax ({lines[0]!r})")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise _BadRequest(f"Bad header line ({line!r})")
        headers.setdefault(name.lower(), value.strip())  # the first of repeated headers wins, as in SandboxServer
    return method, target, version, headers


def _keeps_alive(version: str, headers: dict[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return connection == "keep-alive"
    return connection != "close"


def _plain(status: int, message: str) -> Response:
    return Response(status, raw_text=f"<html><body><h1>{status} {reason(status)}</h1><p>{message}</p></body></html>")


async def _send(writer: asyncio.StreamWriter, response: Response, *, keep_alive: bool) -> None:
    payload, content_type = response.encode()
    lines = [
        f"HTTP/1.1 {response.status} {reason(response.status)}",
        f"Server: {_SERVER}",
        f"Date: {email.utils.formatdate(usegmt=True)}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(payload)}",
    ]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    if not keep_alive:
        lines.append("Connection: close")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1") + payload)
    await writer.drain()

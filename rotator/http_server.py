"""The daemon's one HTTP address: ``/metrics`` (Prometheus text format), ``/healthz`` (liveness), ``/readyz``.

Health answers are cheap JSON computed from what the daemon already knows; only readiness asks Vault, and
caches a success briefly so a probe storm does not become Vault load. A failure is asked again at the next probe,
so a daemon that became ready says so at once.
"""

from __future__ import annotations

import errno
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

READINESS_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: dict[str, Any]


class ListenError(Exception):
    """The status server could not bind its address: taken, not on this host, or not allowed."""

    def __init__(self, address: tuple[str, int], error: OSError) -> None:
        host, port = address
        super().__init__(f"cannot listen on {host}:{port}: {_bind_failure(error)}")


def _bind_failure(error: OSError) -> str:
    if error.errno == errno.EADDRNOTAVAIL:  # "cannot assign requested address" says nothing to most readers
        return "address not available on this host"
    return (error.strerror or str(error)).lower()


class _Handler(BaseHTTPRequestHandler):
    server: StatusServer

    def do_GET(self) -> None:
        routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            "/metrics": self.server.metrics_page,
            "/healthz": lambda: _json_page(self.server.liveness()),
            "/readyz": lambda: _json_page(self.server.readiness()),
        }
        page = routes.get(self.path.split("?", 1)[0])
        status, content_type, body = page() if page else (404, "text/plain", b"not found\n")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds would drown the logs; requests are not logged."""


def _json_page(check: Check) -> tuple[int, str, bytes]:
    body = json.dumps({"ok": check.ok, **check.detail}, default=str).encode()
    return (200 if check.ok else 503), "application/json", body


class StatusServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        registry: CollectorRegistry,
        liveness: Callable[[], Check],
        readiness: Callable[[], Check],
    ) -> None:
        try:
            super().__init__(address, _Handler)
        except OSError as error:
            raise ListenError(address, error) from None
        self._registry = registry
        self.liveness = liveness
        self._readiness = readiness
        self._ready_lock = threading.Lock()
        self._ready_cache: tuple[float, Check] | None = None
        self._thread = threading.Thread(target=self.serve_forever, name="status-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StatusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    def metrics_page(self) -> tuple[int, str, bytes]:
        return 200, CONTENT_TYPE_LATEST, generate_latest(self._registry)

    def readiness(self) -> Check:
        with self._ready_lock:
            if self._ready_cache is not None and time.monotonic() - self._ready_cache[0] < READINESS_CACHE_SECONDS:
                return self._ready_cache[1]
            check = self._readiness()
            self._ready_cache = (time.monotonic(), check) if check.ok else None
            return check

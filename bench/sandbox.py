"""The sandbox LangSmith server in a process of its own (``python -m langsmith_sandbox serve``), driven through
its /_sandbox control API: seeds, latency, the rate limit, request counters, and the CPU time it has used.

Its own process, so the client under test never shares a GIL with the server; the two still share the
machine's cores, which is why every scenario reports the sandbox's CPU time too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from bench.limits import RateLimit

START_TIMEOUT = 20.0
_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process, from /proc/PID/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces; it ends at the last ")"
    return (int(fields[11]) + int(fields[12])) / _TICKS


class SandboxProcess:
    def __init__(self, *, rate_limit: RateLimit | None = None, io: str = "asyncio") -> None:
        """``io``: the sandbox's server, ``asyncio`` (one event loop: what the scenarios use) or ``threads``."""
        self._rate_limit = rate_limit
        self.io = io
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self.url = ""
        self._control: httpx.Client | None = None

    def start(self) -> SandboxProcess:
        command = [sys.executable, "-m", "langsmith_sandbox", "serve", "--port", "0", "--io", self.io]
        # A file, not a pipe: nobody reads the server's stderr while it runs, and a full pipe would stall it.
        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL, text=True
        )
        deadline = time.monotonic() + START_TIMEOUT
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("LANGSMITH_ENDPOINT=") or time.monotonic() > deadline:
            problem = self.stderr_tail()
            self.stop()
            raise RuntimeError(f"the sandbox did not start: {line!r} {problem}")
        self.url = line.strip().split("=", 1)[1]
        self._control = httpx.Client(base_url=self.url + "/_sandbox", timeout=120)
        if self._rate_limit is not None:
            self.set_rate_limit(self._rate_limit)
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def api_url(self) -> str:
        return self.url + "/api/v1"

    def stop(self) -> None:
        process, self._process = self._process, None
        if self._control is not None:
            self._control.close()
            self._control = None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def stderr_tail(self, chars: int = 2000) -> str:
        """The end of what the server wrote to stderr (tracebacks of its own failures, if any)."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        text = self._stderr.read()
        self._stderr.seek(0, os.SEEK_END)
        return text[-chars:]

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # ── control ─────────────────────────────────────────────────────────────────────────────────────────

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self._control is not None, "the sandbox is not running"
        response = self._control.request(method, path, **kwargs)
        if response.is_error:
            raise RuntimeError(f"sandbox control {method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def seed(self, seed: Mapping[str, object]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/seed", json=seed)
        return result

    def set_latency(self, seconds: float) -> None:
        """Every API request waits ``seconds`` before it is answered (a distant region); 0 removes the delay."""
        self._call("DELETE", "/faults")
        if seconds > 0:
            self._call("POST", "/faults", json={"path": "/api/v1/", "latency_seconds": seconds})

    def set_rate_limit(self, rate: RateLimit | None) -> None:
        if rate is None:
            self._call("DELETE", "/rate-limit")
        else:
            body = {"requests_per_minute": rate.requests_per_minute, "window_seconds": rate.window_seconds}
            self._call("POST", "/rate-limit", json=body)

    def reset_counts(self) -> None:
        self._call("DELETE", "/requests")

    def counts(self) -> dict[str, Any]:
        """Requests since the last reset: ``total``, ``by_route``, ``by_status``."""
        result: dict[str, Any] = self._call("GET", "/requests")
        return result

    def requests_by_key(self) -> Counter[str]:
        """Authenticated requests per key id since each key was made (refused ones never reach a key)."""
        keys = self._call("GET", "/keys")
        return Counter({key["id"]: sum(key["requests"].values()) for key in keys if key["requests"]})

    def key_records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self._call("GET", "/keys")
        return records

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

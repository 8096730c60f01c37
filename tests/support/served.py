"""A server binary of the Prometheus family (Prometheus, Alertmanager, Pushgateway) run for a test: its output
to a log file, ready once ``/-/ready`` answers 200, stopped (terminated, then killed) at the end."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.polling import wait_for


@contextmanager
def served(
    argv: Sequence[str], *, url: str, log_path: Path, what: str, timeout: float = 30, **request: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """``request``: httpx options for the readiness probe (auth, verify). Fails naming ``what``, with the end of
    its log, if it exits or is not ready within ``timeout`` seconds."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:

        def ready() -> bool:
            assert process.poll() is None, f"{what} exited {process.returncode}: {log_path.read_text()[-2000:]}"
            try:
                return httpx.get(f"{url}/-/ready", timeout=2, **request).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, timeout=timeout, what=f"{what} to be ready")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

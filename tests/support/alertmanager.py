"""A real Alertmanager (Debian's ``prometheus-alertmanager``), as the alert tests start and query it."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

NULL_ROUTE = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n'
"""An ``alertmanager.yml`` that routes every alert to a receiver that drops it."""


def find_alertmanager() -> str | None:
    """The Alertmanager binary: Debian's, or one named ``alertmanager`` on PATH; None if there is none."""
    return shutil.which("/usr/bin/prometheus-alertmanager") or shutil.which("alertmanager")


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


def active_alerts(alertmanager: str, key_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{alertmanager}/api/v2/alerts", params={"active": "true", "silenced": "false"}, timeout=5)
    response.raise_for_status()
    return [alert for alert in response.json() if alert["labels"].get("alert_id", "").endswith(key_id)]

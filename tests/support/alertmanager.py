"""A real Alertmanager (Debian's ``prometheus-alertmanager``), as the alert tests start and query it."""

from __future__ import annotations

import shutil
from typing import Any

import httpx

from tests.support import leak_scan

NULL_ROUTE = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n'
"""An ``alertmanager.yml`` that routes every alert to a receiver that drops it."""


def find_alertmanager() -> str | None:
    """The Alertmanager binary: Debian's, or one named ``alertmanager`` on PATH; None if there is none."""
    return shutil.which("/usr/bin/prometheus-alertmanager") or shutil.which("alertmanager")


def active_alerts(alertmanager: str, key_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{alertmanager}/api/v2/alerts", params={"active": "true", "silenced": "false"}, timeout=5)
    response.raise_for_status()
    leak_scan.collect("alertmanager", response.text, "active alerts")
    return [alert for alert in response.json() if alert["labels"].get("alert_id", "").endswith(key_id)]

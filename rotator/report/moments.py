"""How the reports write a moment: ISO 8601 with a Z for JSON contracts."""

from __future__ import annotations

from datetime import datetime


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None

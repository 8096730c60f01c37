"""How `rotator check` shows its report: a terminal table for people, a JSON document for scripts.

The JSON shape is a contract (see the README): change it only by adding fields.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rotator.domain.check import CheckReport, KeyRow
from rotator.domain.keys import AccessScope, KeyKind
from rotator.domain.policy import ExpiryStatus

_STATUS_STYLE = {
    ExpiryStatus.EXPIRED: "bold white on red",
    ExpiryStatus.CRITICAL: "bold red",
    ExpiryStatus.WARNING: "yellow",
    ExpiryStatus.TOO_OLD: "magenta",
    ExpiryStatus.NO_EXPIRY: "cyan",
    ExpiryStatus.OK: "green",
}
_KIND_LABEL = {KeyKind.SERVICE_KEY: "service key", KeyKind.PERSONAL_ACCESS_TOKEN: "PAT"}
_SCOPE_LABEL = {AccessScope.ORGANIZATION: "org", AccessScope.WORKSPACE: "workspace", None: "-"}


def report_to_json(report: CheckReport) -> dict[str, Any]:
    return {
        "checked_at": _iso(report.checked_at),
        "exit_code": int(report.exit_code),
        "keys": [_row_to_json(row) for row in report.rows],
        "failed_orgs": [{"org": inv.org, "error": inv.error} for inv in report.failed_orgs],
    }


def _row_to_json(row: KeyRow) -> dict[str, Any]:
    key, assessment = row.key, row.assessment
    return {
        "org": row.org,
        "id": key.id,
        "short_key": key.short_key,
        "description": key.description,
        "kind": key.kind.value,
        "access_scope": key.access_scope.value if key.access_scope else None,
        "workspace_names": list(key.workspace_names),
        "role": row.role,
        "created_at": _iso(key.created_at),
        "expires_at": _iso(key.expires_at),
        "last_used_at": _iso(key.last_used_at),
        "days_left": _round(assessment.days_left),
        "age_days": _round(assessment.age_days),
        "status": assessment.status.value,
    }


# Columns that wrap (free text) and columns that never should (codes, dates, numbers).
_COLUMNS = {
    "org": True,
    "description": True,
    "kind": False,
    "scope": False,
    "workspaces": True,
    "role": True,
    "expires": False,
    "days left": False,
    "status": False,
    "last used": False,
}
_MIN_WIDTH_OFF_TERMINAL = 150


def table_console() -> Console:
    """A console for the table; off a terminal (pipes, CI logs) rich would squeeze it into 80 columns."""
    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, _MIN_WIDTH_OFF_TERMINAL))


def render_table(report: CheckReport, console: Console) -> None:
    table = Table(title=f"LangSmith keys, checked {report.checked_at:%Y-%m-%d %H:%M} UTC", title_justify="left")
    for column, wraps in _COLUMNS.items():
        table.add_column(column, justify="right" if column == "days left" else "left", no_wrap=not wraps)
    for row in report.rows:
        key = row.key
        table.add_row(
            row.org,
            f"{key.description} [dim]{key.short_key}[/dim]",
            _KIND_LABEL[key.kind],
            _SCOPE_LABEL[key.access_scope],
            ", ".join(key.workspace_names) or "-",
            row.role or "-",
            _day(key.expires_at) if key.expires_at else "never",
            _days(row.assessment.days_left),
            Text(row.assessment.status.value, style=_STATUS_STYLE[row.assessment.status]),
            _ago(key.last_used_at, report.checked_at),
        )
    console.print(table)
    console.print(_summary(report))
    for inv in report.failed_orgs:
        console.print(Text(f"org {inv.org}: could not be polled: {inv.error}", style="bold red"))


def _summary(report: CheckReport) -> Text:
    counts = Counter(row.assessment.status for row in report.rows)
    parts = [f"{counts[s]} {s.value}" for s in sorted(counts, key=lambda s: -s.urgency)]
    return Text(f"{len(report.rows)} keys: {', '.join(parts) or 'none'}")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def _day(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


def _days(days_left: float | None) -> str:
    return "-" if days_left is None else f"{days_left:.1f}"


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"

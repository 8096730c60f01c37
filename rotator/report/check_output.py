"""How `rotator check` shows its report: a terminal table for people, a JSON document for scripts.

The JSON shape is a contract (see the README): change it only by adding fields.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from rich.console import Console
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

from rotator.domain.check import CheckReport, KeyRow
from rotator.domain.keys import AccessScope, KeyKind
from rotator.domain.policy import ExpiryStatus
from rotator.report.moments import iso

_STATUS_STYLE = {
    ExpiryStatus.EXPIRED: "bold white on red",
    ExpiryStatus.CRITICAL: "bold red",
    ExpiryStatus.WARNING: "yellow",
    ExpiryStatus.TOO_OLD: "magenta",
    ExpiryStatus.NO_EXPIRY: "cyan",
    ExpiryStatus.OK: "green",
    ExpiryStatus.RETIRING: "dim",
}
_KIND_LABEL = {KeyKind.SERVICE_KEY: "service key", KeyKind.PERSONAL_ACCESS_TOKEN: "PAT"}
_SCOPE_LABEL = {AccessScope.ORGANIZATION: "org", AccessScope.WORKSPACE: "workspace", None: "-"}


def report_to_json(report: CheckReport) -> dict[str, Any]:
    return {
        "checked_at": iso(report.checked_at),
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
        "created_at": iso(key.created_at),
        "expires_at": iso(key.expires_at),
        "last_used_at": iso(key.last_used_at),
        "days_left": _round(assessment.days_left),
        "age_days": _round(assessment.age_days),
        "status": assessment.status.value,
        "managed": row.managed,
        "delete_after": iso(row.delete_after),
    }


@dataclass(frozen=True, slots=True)
class _Column:
    heading: str
    priority: int
    """0 is always shown; higher numbers are dropped first when the terminal is narrow."""
    min_width: int
    cell: Callable[[KeyRow, datetime], str | Text]
    wraps: bool = True
    justify: Literal["left", "right"] = "left"


def _description(row: KeyRow, _now: datetime) -> Text:
    text = Text(row.key.description)
    text.append(f" {row.key.short_key}", style="dim")
    if row.managed is not None:
        text.append(f" managed as {row.managed}", style="cyan")
    return text


def _status(row: KeyRow, now: datetime) -> Text:
    text = Text(row.assessment.status.value, style=_STATUS_STYLE[row.assessment.status])
    if row.delete_after is not None:
        text.append(f" deleted {_when(row.delete_after, now)}", style="dim")
    return text


_LAYOUT = (
    _Column("description", 0, 18, _description),
    _Column("status", 0, 8, _status),
    _Column("expires", 0, 10, lambda row, _: _day(row.key.expires_at) if row.key.expires_at else "never", False),
    _Column("days left", 1, 4, lambda row, _: _days(row.assessment.days_left), False, "right"),
    _Column("org", 1, 3, lambda row, _: row.org, False),
    _Column("role", 3, 8, lambda row, _: row.role or "-"),
    _Column("workspaces", 4, 10, lambda row, _: ", ".join(row.key.workspace_names) or "-"),
    _Column("kind", 5, 7, lambda row, _: _KIND_LABEL[row.key.kind]),
    _Column("scope", 6, 9, lambda row, _: _SCOPE_LABEL[row.key.access_scope], False),
    _Column("last used", 6, 9, lambda row, now: _ago(row.key.last_used_at, now), False),
)
_MIN_WIDTH_OFF_TERMINAL = 150
_UNBOUNDED = 10_000


def table_console() -> Console:
    """A console for the table; off a terminal (pipes, CI logs) rich would squeeze it into 80 columns."""
    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, _MIN_WIDTH_OFF_TERMINAL))


def render_table(report: CheckReport, console: Console, *, wide: bool = False) -> None:
    """The report as a table fitted to the console's width: when every column cannot fit, the lowest
    priorities go first (last used and scope, then kind, workspaces, role, ...), and a line says which.
    ``wide`` shows every column, unwrapped (lines may then be longer than the terminal).
    With one org, the org is named in the title instead of a column."""
    orgs = sorted({row.org for row in report.rows} | {inv.org for inv in report.failed_orgs})
    layout = [column for column in _LAYOUT if column.heading != "org" or len(orgs) > 1]
    where = f" in org {orgs[0]}" if len(orgs) == 1 else ""
    title = f"LangSmith keys{where}, checked {report.checked_at:%Y-%m-%d %H:%M} UTC"
    shown = list(layout)
    if not wide:
        for priority in sorted({column.priority for column in layout}, reverse=True):
            if priority == 0 or _drawn_width(_table(title, report, shown), console, console.width) <= console.width:
                break
            shown = [column for column in shown if column.priority < priority]
    table = _table(title, report, shown)
    width = max(console.width, _drawn_width(table, console, _UNBOUNDED if wide else console.width))
    # console.print never draws wider than the console: draw the lines at the width found, then print them.
    for line in console.render_lines(table, console.options.update_width(width), pad=False):
        console.print(Segments([*line, Segment.line()]), crop=False, soft_wrap=True, end="")
    console.print(_summary(report))
    hidden = [column.heading for column in layout if column not in shown]
    if hidden:
        console.print(Text(f"not shown at this width: {', '.join(hidden)} (rotator check --wide)", style="dim"))
    for inv in report.failed_orgs:
        console.print(Text(f"org {inv.org}: could not be polled: {inv.error}", style="bold red"))


def _table(title: str, report: CheckReport, columns: list[_Column]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column.heading, justify=column.justify, no_wrap=not column.wraps, min_width=column.min_width)
    for row in report.rows:
        table.add_row(*(column.cell(row, report.checked_at) for column in columns))
    return table


def _drawn_width(table: Table, console: Console, width: int) -> int:
    """How wide the table comes out when drawn in ``width`` columns (wider when its words do not fit)."""
    lines = Segment.split_lines(console.render(table, console.options.update_width(width)))  # uncropped
    return max((Segment.get_line_length(line) for line in lines), default=0)


def _summary(report: CheckReport) -> Text:
    counts = Counter(row.assessment.status for row in report.rows)
    parts = [f"{counts[s]} {s.value}" for s in sorted(counts, key=lambda s: -s.urgency)]
    return Text(f"{len(report.rows)} keys: {', '.join(parts) or 'none'}")


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def _day(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


def _days(days_left: float | None) -> str:
    return "-" if days_left is None else f"{days_left:.1f}"


def _when(moment: datetime, now: datetime) -> str:
    """A moment near ``now`` in words a table cell can hold: "in 23h", "now"."""
    seconds = int((moment - now).total_seconds())
    if seconds <= 0:
        return "next cycle"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"in {seconds // size}{unit}"
    return "in under a minute"


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"

"""Tables of results: printed with rich, and written as markdown into bench/README.md between two markers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable

README = Path(__file__).parent / "README.md"
X = "\N{MULTIPLICATION SIGN}"
"""In ratios: 1.30 with this after it."""
START_MARKER = "<!-- bench:results:start -->"
END_MARKER = "<!-- bench:results:end -->"


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.key}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([str(cell) for cell in cells])


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f} s"
    if value >= 10:
        return f"{value:.1f} s"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.0f} ms"


def times(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}{X}" if value >= 10 else f"{value:.2f}{X}"


def verdict(met: bool | None) -> str:
    return {True: "✓", False: "✗", None: "-"}[met]


def megabytes(kib: float | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MB"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render(tables: Sequence[Table], console: Console) -> None:
    for table in tables:
        rich_table = RichTable(title=table.title, title_justify="left", show_lines=False)
        for index, column in enumerate(table.columns):
            rich_table.add_column(column, justify="left" if index == 0 else "right", overflow="fold")
        for row in table.rows:
            rich_table.add_row(*row)
        console.print(rich_table)
        for note in table.notes:
            console.print(f"  [dim]{note}[/dim]")
        console.print()


def markdown(tables: Sequence[Table]) -> str:
    parts = []
    for table in tables:
        lines = [f"#### {table.title}", ""]
        lines.append("| " + " | ".join(table.columns) + " |")
        lines.append("|" + "|".join([":---"] + ["---:"] * (len(table.columns) - 1)) + "|")
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table.rows]
        if table.notes:
            lines.append("")
            lines += [f"- {note}" for note in table.notes]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def write_readme(section: str, path: Path = README) -> None:
    """Replace what lies between the markers with ``section``; the rest of the README stays as it is."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START_MARKER) + r".*?" + re.escape(END_MARKER), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{path} has no {START_MARKER} ... {END_MARKER} section to fill")
    replacement = f"{START_MARKER}\n{section.strip()}\n{END_MARKER}"
    path.write_text(pattern.sub(lambda _: replacement, text, count=1), encoding="utf-8")

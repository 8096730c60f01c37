"""How `rotator once` and `rotator rotate` report: one line per managed secret."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from rotator.domain.outcome import Outcome, Result

_STYLE = {
    Result.FAILED: "bold red",
    Result.HELD: "yellow",
    Result.SKIPPED: "yellow",
    Result.ROTATED: "green",
    Result.COMPLETED: "green",
    Result.PLANNED: "cyan",
}


def render_outcomes(outcomes: Sequence[Outcome], console: Console) -> None:
    if not outcomes:
        console.print("no managed secrets configured")
    for outcome in outcomes:
        line = Text(f"{outcome.name}: ")
        line.append(outcome.result.value, style=_STYLE.get(outcome.result, ""))
        line.append(f" — {outcome.message}")
        console.print(line)

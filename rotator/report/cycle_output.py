"""How `rotator once` and `rotator rotate` report: one line per managed secret, and one per alert sink that
did not take what it was sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def render_undelivered(undelivered: Mapping[str, int], console: Console) -> None:
    for sink, count in sorted(undelivered.items()):
        line = Text("alerts: ")
        line.append(f"{count} notification{'s' if count != 1 else ''} not delivered to {sink}", style="bold red")
        line.append(" — sent again next run; see the alert.delivery_failed log line for why")
        console.print(line)

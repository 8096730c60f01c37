"""How `rotator status` shows each managed secret: a block of facts for people, a JSON document for scripts.

The JSON shape is a contract (see the README): change it only by adding fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rotator.domain.status import KeyView, RetiringView, SecretPhase, SecretStatus
from rotator.report.moments import iso

_PHASE_STYLE = {
    SecretPhase.IDLE: "green",
    SecretPhase.GRACE: "cyan",
    SecretPhase.DELETING: "cyan",
    SecretPhase.HELD: "yellow",
    SecretPhase.INTENT: "yellow",
    SecretPhase.CREATED: "yellow",
    SecretPhase.NOT_ADOPTED: "yellow",
    SecretPhase.BACKOFF: "bold red",
    SecretPhase.UNKNOWN: "bold red",
}


def statuses_to_json(statuses: Sequence[SecretStatus]) -> dict[str, Any]:
    return {"secrets": [_status_to_json(status) for status in statuses]}


def _status_to_json(status: SecretStatus) -> dict[str, Any]:
    return {
        "name": status.name,
        "org": status.org,
        "phase": status.phase.value,
        "detail": status.detail,
        "vault_path": status.vault_path,
        "vault_version": status.vault_version,
        "current_key": _key(status.current_key),
        "retiring": [_retiring(old) for old in status.retiring],
        "next_due_at": iso(status.next_due_at),
        "failures": status.failures,
        "next_attempt_at": iso(status.next_attempt_at),
        "last_error": status.last_error,
        "last_rotated_at": iso(status.last_rotated_at),
        "previous_key": _key(status.previous_key),
    }


def _key(key: KeyView | None) -> dict[str, Any] | None:
    if key is None:
        return None
    return {"id": key.id, "short_key": key.short_key, "expires_at": iso(key.expires_at)}


def _retiring(old: RetiringView) -> dict[str, Any]:
    return {
        **(_key(old.key) or {}),
        "phase": old.phase.value,
        "until": iso(old.until),
        "last_used_at": iso(old.last_used_at),
    }


def render_statuses(statuses: Sequence[SecretStatus], console: Console) -> None:
    if not statuses:
        console.print("no managed secrets configured")
    for status in statuses:
        console.print(Text.assemble((status.name, "bold"), f"  (org {status.org})"))
        facts = Table.grid(padding=(0, 2))
        facts.add_column(style="dim", no_wrap=True)
        facts.add_column()
        facts.add_row("phase", Text.assemble((status.phase.value, _PHASE_STYLE[status.phase]), f" — {status.detail}"))
        facts.add_row("current key", _key_words(status.current_key))
        version = f", version {status.vault_version}" if status.vault_version is not None else " (nothing stored yet)"
        facts.add_row("vault", f"{status.vault_path}{version}")
        facts.add_row("next due", _at(status.next_due_at))
        if status.failures:
            facts.add_row("backoff", f"{status.failures} failure(s); next attempt after {_at(status.next_attempt_at)}")
        facts.add_row("last error", status.last_error or "-")
        facts.add_row("last rotation", _at(status.last_rotated_at))
        facts.add_row("previous key", _key_words(status.previous_key))
        for old in status.retiring:
            facts.add_row("retiring", f"{_key_words(old.key)}: {old.phase.value} until {_at(old.until)}")
        console.print(facts)
        console.print()


def _key_words(key: KeyView | None) -> str:
    if key is None:
        return "-"
    shown = key.short_key or "(not listed by LangSmith)"
    expires = f", expires {_at(key.expires_at)}" if key.expires_at else ""
    return f"{shown} (id {key.id}){expires}"


def _at(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "-"

"""The `rotator check` table fits the terminal it is printed on: at 80, 100, 120 and 200 columns no cell
collapses to nothing, descriptions stay readable, lower-priority columns go first, and `--wide` shows all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from rotator.domain.check import CheckReport, ManagedKeys, OrgInventory, RetiringMark, build_check_report
from rotator.domain.keys import AccessScope, ApiKey, KeyKind
from rotator.domain.policy import ExpiryPolicy
from rotator.report.check_output import render_table

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
DAY = timedelta(days=1)
DESCRIPTIONS = ("chatbot production backend", "nightly evaluation runner", "alice laptop")


def report() -> CheckReport:
    keys = (
        ApiKey(
            "k-chatbot", "lsv2_sk_1a2b...", DESCRIPTIONS[0], KeyKind.SERVICE_KEY, NOW - 80 * DAY, NOW + 5 * DAY,
            NOW - DAY, AccessScope.WORKSPACE, ("production", "staging"), role_id="r-editor",
        ),
        ApiKey(
            "k-eval", "lsv2_sk_3c4d...", DESCRIPTIONS[1], KeyKind.SERVICE_KEY, NOW - 10 * DAY, NOW + 80 * DAY,
            None, AccessScope.ORGANIZATION, (), org_role_id="r-admin",
        ),
        ApiKey(
            "k-alice", "lsv2_pt_5e6f...", DESCRIPTIONS[2], KeyKind.PERSONAL_ACCESS_TOKEN, NOW - 200 * DAY, None,
            NOW - 2 * DAY, None, (),
        ),
    )  # fmt: skip
    inventory = OrgInventory(
        "acme-production", keys, role_names={"r-editor": "Workspace Editor", "r-admin": "Organization Admin"}
    )
    managed = ManagedKeys(
        current={("acme-production", "k-eval"): "eval-runner"},
        retiring={("acme-production", "k-chatbot"): RetiringMark("chatbot", NOW - DAY, 2 * DAY, 7 * DAY)},
    )
    return build_check_report([inventory], {"acme-production": ExpiryPolicy()}, NOW, managed)


def rendered(width: int, *, wide: bool = False) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    render_table(report(), console, wide=wide)
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [80, 100, 120, 200])
def test_every_line_fits_and_every_key_keeps_its_description_and_status(width: int) -> None:
    lines = rendered(width)
    assert max(len(line) for line in lines) <= width
    text = "\n".join(lines)
    squeezed = " ".join(text.split())
    for description in DESCRIPTIONS:
        words = description.split()
        assert all(word in squeezed for word in words), f"{description!r} lost at {width} columns"
    for status in ("retiring", "ok", "too_old"):
        assert status in text
    assert "eval-runner" in text, "the managed name is shown on managed keys"
    assert "…" not in text, "no cell is truncated to an ellipsis"


@pytest.mark.parametrize("width", [100, 120])
def test_descriptions_are_not_broken_mid_word_at_100_and_120_columns(width: int) -> None:
    text = "\n".join(rendered(width))
    for description in DESCRIPTIONS:
        for word in description.split():
            assert word in text


def test_the_narrow_layout_drops_low_priority_columns_first_and_says_so() -> None:
    narrow, wide = rendered(80), rendered(200)
    narrow_headings = next(line for line in narrow if "description" in line)
    wide_headings = next(line for line in wide if "description" in line)
    for heading in ("status", "expires"):
        assert heading in narrow_headings
    assert "last used" in wide_headings and "last used" not in narrow_headings
    assert "--wide" in narrow[-1] + narrow[-2], "the reader learns how to see the rest"
    assert all("--wide" not in line for line in wide)


def test_wide_shows_every_column_whatever_the_width() -> None:
    lines = rendered(80, wide=True)
    headings = next(line for line in lines if "description" in line)
    for heading in ("kind", "scope", "workspaces", "role", "last used"):
        assert heading in headings
    words = set(" ".join(lines).replace("│", " ").split())
    assert {"Workspace", "Editor", "Organization", "Admin"} <= words, "role names, not ids"

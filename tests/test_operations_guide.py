"""The operator guide's troubleshooting table quotes what the rotator prints: each row's message is asserted,
in those words, by a test file the row names, so a reworded message cannot leave the guide behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
GUIDE = ROOT / "docs" / "operations.md"


def rows() -> list[tuple[str, list[str]]]:
    table = [line for line in GUIDE.read_text().splitlines() if line.startswith("| `")]
    found = []
    for line in table:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        message = re.findall(r"`([^`]+)`", cells[0])[0]
        tests = re.findall(r"`(tests/[^`]+)`", cells[-1])
        found.append((message, tests))
    return found


def fragment(message: str) -> str:
    """The longest literal run of the message, without its placeholders (``<field>``, ``...``, ``N``)."""
    parts = re.split(r"<[^>]+>|\.\.\.|\bN\b", message)
    return max((part.strip(" :,'") for part in parts), key=len)


def test_the_guide_has_a_troubleshooting_table() -> None:
    assert len(rows()) >= 10


@pytest.mark.parametrize(("message", "tests"), rows(), ids=[message[:40] for message, _ in rows()])
def test_each_row_is_asserted_by_a_test_it_names(message: str, tests: list[str]) -> None:
    assert tests, f"the row for {message!r} names no test"
    texts = []
    for name in tests:
        path = ROOT / name
        assert path.exists(), f"{name} does not exist"
        texts += [file.read_text() for file in ([path] if path.is_file() else sorted(path.rglob("*.py")))]
    literal = fragment(message)
    assert len(literal) >= 8, f"too little of {message!r} to look for"
    assert any(literal in text for text in texts), f"no test named by the row asserts {literal!r}"

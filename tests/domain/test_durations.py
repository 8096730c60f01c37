from datetime import timedelta

import pytest

from rotator.domain.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14d", timedelta(days=14)),
        ("36h", timedelta(hours=36)),
        ("90m", timedelta(minutes=90)),
        ("30s", timedelta(seconds=30)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 7D ", timedelta(days=7)),
        ("0", timedelta(0)),
    ],
)
def test_parses_human_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "14", "d", "1.5d", "-3d", "14 days", "1y", "3d 4h", "P14D"])
def test_rejects_anything_else_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration: .* e\.g\. 14d"):
        parse_duration(text)

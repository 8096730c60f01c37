"""Durations as people write them in config: ``14d``, ``36h``, ``90m``, ``30s``, ``1d12h``, ``0``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([wdhms])")
_WHOLE = re.compile(r"(?:\d+[wdhms])+")


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``14d`` or ``1d12h``; raise ValueError with a readable reason."""
    compact = text.strip().lower()
    if compact == "0":
        return timedelta(0)
    if not _WHOLE.fullmatch(compact):
        raise ValueError(
            f"{text!r} is not a duration: use a number and a unit (w, d, h, m, s), e.g. 14d, 36h, 90m or 1d12h"
        )
    return timedelta(seconds=sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(compact)))

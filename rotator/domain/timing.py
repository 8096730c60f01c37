"""Whether a managed secret's lifetime, lead time and grace periods leave room for every rotation to finish.

A key is rotated ``lead`` before it expires (``rotate_before``, or a third of its lifetime). Its replacement is
then due again ``lifetime - lead`` later: that interval is the time one rotation has to finish, its old key's
grace period and any hold included. Grace periods must stay well inside it (at most half), so that waiting for
one old key never competes with the next rotation, and the Vault key is always the newest.
"""

from __future__ import annotations

from datetime import timedelta

# Longest lifetime the rotator will ask for: far beyond any org maximum LangSmith offers, and far from overflow.
MAX_LIFETIME = timedelta(days=3650)


def lead_time(lifetime: timedelta, rotate_before: timedelta | None) -> timedelta:
    """How long before expiry a key with ``lifetime`` is rotated."""
    return rotate_before if rotate_before is not None else lifetime / 3


def timing_problems(
    *,
    lifetime: timedelta,
    rotate_before: timedelta | None,
    grace_period: timedelta,
    max_grace: timedelta,
) -> list[str]:
    """``field: problem`` lines; empty when a rotation always has room to finish before the next one is due."""
    if rotate_before is not None and rotate_before <= timedelta(0):
        return ["rotate_before: must be longer than 0 (leave it out to rotate when two thirds of the lifetime pass)"]
    if rotate_before is not None and rotate_before >= lifetime:
        return [
            f"rotate_before: {_days(rotate_before)} is not shorter than the key lifetime {_days(lifetime)}, "
            "so every key would be due as soon as it is made"
        ]
    interval = lifetime - lead_time(lifetime, rotate_before)
    problems = []
    for field, value in (("grace_period", grace_period), ("max_grace", max_grace)):
        if value > interval / 2:
            problems.append(
                f"{field}: {_days(value)} is not well below the {_days(interval)} between one rotation and the "
                f"next (lifetime {_days(lifetime)} minus rotate_before); keep it at most half of that, "
                f"{_days(interval / 2)}"
            )
    return problems


def _days(value: timedelta) -> str:
    days = value / timedelta(days=1)
    if days >= 1:
        return f"{days:g}d" if days == int(days) else f"{days:.1f}d"
    return f"{value / timedelta(hours=1):.3g}h"

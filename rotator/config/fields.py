"""The base model and the validated field types that every section of the config is built from."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from rotator.domain.durations import parse_duration


class StrictModel(BaseModel):
    """Unknown fields are errors, and settings never change once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_LONGEST = timedelta(days=36500)
"""100 years: longer is a typo, and anything shorter can be added to today without overflowing a datetime."""
_HUGE_NUMBER = re.compile(r"[1-9]\d{15}")  # beyond _LONGEST in any unit; spares int() its 4300-digit limit


def _duration(value: object) -> object:
    if isinstance(value, str):
        try:
            value = timedelta.max if _HUGE_NUMBER.search(value) else parse_duration(value)
        except OverflowError:
            value = timedelta.max
    elif isinstance(value, int) and not isinstance(value, bool) and value == 0:
        value = timedelta(0)
    if not isinstance(value, timedelta):
        raise ValueError(f"{value!r} is not a duration: write it like 14d, 36h or 90m")
    if value > _LONGEST:
        raise ValueError(f"is too long: durations are at most {_LONGEST.days}d (100 years)")
    if value < timedelta(0):
        raise ValueError("must not be negative")
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0")
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
_NAME = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?")


def _stable_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError("use lowercase letters, digits, '-' and '_' (at most 63), e.g. prod-us")
    return value


StableName = Annotated[str, AfterValidator(_stable_name)]
"""Names that appear in logs, metrics and Vault paths, so they stay stable and need no escaping."""
_UNPRINTABLE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def _vault_path(value: str) -> str:
    if any(segment in {"", ".", ".."} for segment in value.split("/")):
        raise ValueError(
            f"{value!r} has an empty, '.' or '..' segment; write names joined by single '/', "
            "with none at either end, e.g. langsmith/chatbot-prod"
        )
    if _UNPRINTABLE.search(value):
        raise ValueError(f"{value!r} contains whitespace or a control character")
    return value


VaultPath = Annotated[str, AfterValidator(_vault_path)]
"""A Vault mount, or a path under one: spelled one way only, so two spellings never name one place unnoticed."""


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


NonBlank = Annotated[str, AfterValidator(_non_blank)]

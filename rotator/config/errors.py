"""How a config problem is told: where it is (a path of field names and list indexes) and what is wrong there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


class ConfigError(Exception):
    """Invalid settings; ``problems`` are ``field: problem`` lines."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"config error: {p}" for p in self.problems))


Location = tuple[str | int, ...]
"""A pydantic ``loc``: field names and list indexes, e.g. ``("alerts", "sinks", 1, "url")``."""

PROBLEM_TYPE = "config_problem"
"""The pydantic error type of every problem raised with :func:`invalid`."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """What is wrong, and where, relative to the model whose validator found it (``()`` is the model itself)."""

    location: Location
    message: str


def invalid(model: type[BaseModel], *problems: ConfigProblem) -> ValidationError:
    """The error a validator of ``model`` raises to report every one of ``problems`` at once, each at its place.

    Raised from a validator, the locations become part of pydantic's ``loc``: as validation unwinds, each
    enclosing model, list and union prepends its own place, so the caller sees each problem located from the top
    (``alerts.sinks[1]`` + ``url``), and a ValueError, which carries one message and no place, is not needed.
    """
    if not problems:
        raise TypeError("invalid() needs at least one problem")
    return ValidationError.from_exception_data(
        model.__name__,
        [
            InitErrorDetails(type=PydanticCustomError(PROBLEM_TYPE, problem.message), loc=problem.location, input=None)
            for problem in problems
        ],
    )

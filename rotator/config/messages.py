"""How a validation error becomes the line a user reads: ``place: problem``, the place spelled as they wrote it.

The place is pydantic's ``loc``, which is complete: validators that find a problem in a nested field raise it at
that field's location (see :func:`rotator.config.errors.invalid`), so nothing here reads places out of messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic_core import ErrorDetails


def describe(error: ErrorDetails, variables: Mapping[str, str], advice: Mapping[str, str]) -> str:
    """``orgs[1].endpoint: ...`` for a config file; for settings from the environment, ``variables`` maps a field
    name to the variable it came from (``LANGSMITH_ENDPOINT: ...``) and ``advice`` rewords what it suggests."""
    loc = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
    message = str(error["msg"]).removeprefix("Value error, ")
    if loc and loc[-1] == "[key]":  # a mapping's key is at fault, not its value
        loc, message = loc[:-1], f"the name {loc[-2]!r}: {message}"
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "required field is missing"
    if loc and loc[-1] in variables:
        described = f"{variables[str(loc[-1])]}: {message}"
    else:
        described = f"{config_path(loc) or 'config'}: {message}"
    for words, instead in advice.items():
        described = described.replace(words, instead)
    return described


def config_path(loc: Sequence[str | int]) -> str:
    """``("alerts", "sinks", 1, "url")`` as the config file spells it: ``alerts.sinks[1].url``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text

"""Fault injection: rules that delay, fail, garble or drop matching API requests, or reshape their answers."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Literal

When = Literal["before", "after"]


@dataclass(frozen=True)
class FaultRule:
    """What to do to requests whose method and path match.

    ``path`` is a prefix, or a regex searched in the path when ``regex`` is true; ``method`` None matches
    any method. ``when="before"`` acts instead of the API (nothing changes server-side); ``when="after"``
    lets the API handle the request first, so a created key exists although the client sees the fault.
    ``times`` counts the requests the rule matches before it expires; None keeps it forever.

    Effects that replace the API's answer: ``status`` (with ``body`` and ``retry_after``),
    ``drop_connection`` and ``malformed_body``. ``latency_seconds`` only delays: before the API with
    ``when="before"``, after it with ``when="after"``.

    Body effects reshape the API's own answer, so the request always reaches the API, whatever ``when``
    says (which then only places the latency), and they apply only when that answer is a 2xx JSON body;
    any other answer passes through unchanged, although the request still uses up one of ``times``.
    They model servers that differ from the current LangSmith, and cannot be combined with a replacing
    effect:

    - ``omit_fields`` removes these top-level fields (absent, not null) from each object of a JSON array
      body, or from a single-object body such as a create or delete answer: an older or self-hosted
      LangSmith without ``role_id``, ``org_role_id``, ``access_scope``, ``expires_at`` and so on. Only the
      named fields go; a create answer keeps its ``key`` unless ``key`` is named.
    - ``hide_ids`` drops from a JSON array body every object whose ``id`` is listed: a stale or
      inconsistent list read that misses keys which exist. Single-object bodies are unaffected.
    """

    path: str = ""
    method: str | None = None
    regex: bool = False
    status: int | None = None
    body: object = None  # JSON body for ``status``; defaults to {"detail": <reason phrase>}
    retry_after: int | None = None
    latency_seconds: float = 0.0
    drop_connection: bool = False
    malformed_body: str | None = None  # sent as text/html with ``status`` (default 200)
    times: int | None = None
    when: When = "before"
    omit_fields: list[str] | None = None
    hide_ids: list[str] | None = None

    def __post_init__(self) -> None:
        if self.regex:
            try:
                re.compile(self.path)
            except re.error as exc:
                raise ValueError(f"path is not a valid regex: {exc}") from exc
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status between 100 and 599")
        if self.retry_after is not None and (self.retry_after < 0 or self.status is None):
            raise ValueError("retry_after needs a status and must be zero or more seconds")
        if self.latency_seconds < 0:
            raise ValueError("latency_seconds must be zero or more")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or null for a rule that never expires")
        if self.when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        for name in ("omit_fields", "hide_ids"):
            value = getattr(self, name)
            if value is None:
                continue
            _check_names(name, value)
            object.__setattr__(self, name, list(value))  # the rule's own copy; it is frozen
        if not (self.replaces_response or self.latency_seconds or self.reshapes_body):
            raise ValueError(
                "a fault needs an effect: status, latency_seconds, drop_connection, malformed_body,"
                " omit_fields or hide_ids"
            )
        if self.replaces_response and self.reshapes_body:
            raise ValueError(
                "omit_fields and hide_ids reshape the API's own answer, so they contradict"
                " status, drop_connection and malformed_body, which replace it"
            )

    @property
    def replaces_response(self) -> bool:
        """Whether the fault answers in the API's place, rather than only delaying it."""
        return self.drop_connection or self.status is not None or self.malformed_body is not None

    @property
    def reshapes_body(self) -> bool:
        """Whether the fault edits the API's own successful JSON answer (``omit_fields``, ``hide_ids``)."""
        return self.omit_fields is not None or self.hide_ids is not None

    def reshape(self, body: object) -> object:
        """A reshaped copy of a JSON body; ``body`` itself is left as it was."""
        omit = frozenset(self.omit_fields or ())
        hidden = frozenset(self.hide_ids or ())

        def trimmed(value: object) -> object:
            if not isinstance(value, dict):
                return value
            return {name: item for name, item in value.items() if name not in omit}

        if isinstance(body, list):
            return [
                trimmed(item)
                for item in body
                if not (isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] in hidden)
            ]
        return trimmed(body)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> FaultRule:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s) {unknown}; known: {sorted(known)}")
        _check_types(data)
        return cls(**data)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.regex:
            return re.search(self.path, path) is not None
        return path.startswith(self.path)


_EXPECTED_TYPES: dict[str, tuple[type, ...]] = {
    "path": (str,),
    "method": (str, type(None)),
    "regex": (bool,),
    "status": (int, type(None)),
    "retry_after": (int, type(None)),
    "latency_seconds": (int, float),
    "drop_connection": (bool,),
    "malformed_body": (str, type(None)),
    "times": (int, type(None)),
    "when": (str,),
    "omit_fields": (list, type(None)),
    "hide_ids": (list, type(None)),
}


def _check_types(data: Mapping[str, object]) -> None:
    for name, value in data.items():
        types = _EXPECTED_TYPES.get(name)
        if types is None:
            continue
        # bool is an int subclass; a JSON true is not a status code.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ValueError(f"fault field {name!r} has the wrong type ({type(value).__name__})")


def _check_names(name: str, value: object) -> None:
    if not isinstance(value, list | tuple):
        raise ValueError(f"fault field {name!r} must be a list of strings or null, not {type(value).__name__}")
    if not value:
        raise ValueError(f"fault field {name!r} must list at least one string, or be null")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValueError(f"fault field {name!r} must hold strings only; item {index} is {type(item).__name__}")


@dataclass(frozen=True)
class ArmedFault:
    id: str
    rule: FaultRule
    remaining: int | None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "remaining": self.remaining, **self.rule.to_json()}


class FaultInjector:
    """Thread-safe rule list; the first live rule that matches a request handles it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[ArmedFault] = []
        self._ids = itertools.count(1)

    def add(self, rule: FaultRule) -> str:
        with self._lock:
            fault_id = f"fault-{next(self._ids)}"
            self._armed.append(ArmedFault(fault_id, rule, rule.times))
            return fault_id

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            before = len(self._armed)
            self._armed = [armed for armed in self._armed if armed.id != fault_id]
            return len(self._armed) < before

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def active(self) -> list[ArmedFault]:
        with self._lock:
            return list(self._armed)

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule that applies to this request, consuming one of its ``times``."""
        with self._lock:
            for index, armed in enumerate(self._armed):
                if not armed.rule.matches(method, path):
                    continue
                if armed.remaining is None:
                    return armed.rule
                if armed.remaining <= 1:
                    del self._armed[index]
                else:
                    self._armed[index] = ArmedFault(armed.id, armed.rule, armed.remaining - 1)
                return armed.rule
            return None

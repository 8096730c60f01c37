"""Transport-neutral requests and responses, and the error bodies LangSmith (a FastAPI app) sends."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus

MISSING = object()  # marks an error whose input was absent, so the body says "input": null


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # names lower-cased
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Response:
    status: int
    body: object = None
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_text: str | None = None  # a non-JSON payload, for malformed-body faults

    def encode(self) -> tuple[bytes, str]:
        """The payload and its content type."""
        if self.raw_text is not None:
            return self.raw_text.encode(), "text/html; charset=utf-8"
        return json.dumps(self.body, separators=(",", ":")).encode(), "application/json"


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ApiError(Exception):
    def __init__(self, status: int, body: object) -> None:
        super().__init__(status, body)
        self.response = Response(status, body)


def unauthorized(detail: str) -> ApiError:
    return ApiError(401, {"detail": detail})


def forbidden(error: str = "Forbidden") -> ApiError:
    return ApiError(403, {"error": error})


def not_found() -> ApiError:
    return ApiError(404, {"detail": "Not found"})


def field_error(loc: tuple[str | int, ...], msg: str, type_: str, value: object = MISSING) -> dict[str, object]:
    """One item of a 422 ``detail`` list, shaped like pydantic v2's."""
    return {"type": type_, "loc": list(loc), "msg": msg, "input": None if value is MISSING else value}


def invalid(errors: list[dict[str, object]]) -> ApiError:
    return ApiError(422, {"detail": errors})

"""Parsing request bodies (APIKeyCreateRequest, APIKeyUpdateRequest) with FastAPI-style 422 errors.

Only the shape is checked here; rules that need the state (roles, workspaces, expiry limits) live with
the routes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from langsmith_sandbox.messages import field_error, invalid
from langsmith_sandbox.model import DEFAULT_DESCRIPTION


def parse_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def uuid_error(loc: tuple[str | int, ...], value: object) -> dict[str, object]:
    return field_error(loc, "Input should be a valid UUID", "uuid_parsing", value)


def parse_json_object(raw: bytes) -> dict[str, object]:
    """The body as a JSON object; an empty body is ``{}``, since every field of these requests is optional."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except UnicodeDecodeError:
        raise invalid([field_error(("body",), "Body is not UTF-8", "json_invalid")]) from None
    except json.JSONDecodeError as exc:
        raise invalid([field_error(("body", exc.pos), "JSON decode error", "json_invalid")]) from None
    if not isinstance(value, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        raise invalid([field_error(("body",), msg, "model_attributes_type", value)])
    return value


class _Fields:
    """Reads typed fields from a JSON object, collecting every error before failing, as pydantic does."""

    def __init__(self, data: dict[str, object]) -> None:
        self._data = data
        self.errors: list[dict[str, object]] = []

    def has(self, name: str) -> bool:
        return name in self._data

    def string(self, name: str, default: str) -> str:
        value = self._data.get(name, default)
        if isinstance(value, str):
            return value
        self.errors.append(field_error(("body", name), "Input should be a valid string", "string_type", value))
        return default

    def boolean(self, name: str, default: bool) -> bool:
        value = self._data.get(name, default)
        if isinstance(value, bool):
            return value
        self.errors.append(field_error(("body", name), "Input should be a valid boolean", "bool_type", value))
        return default

    def optional_uuid(self, name: str) -> str | None:
        value = self._data.get(name)
        if value is None:
            return None
        parsed = parse_uuid(value) if isinstance(value, str) else None
        if parsed is None:
            self.errors.append(uuid_error(("body", name), value))
        return parsed

    def optional_uuid_list(self, name: str) -> tuple[str, ...] | None:
        value = self._data.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            self.errors.append(field_error(("body", name), "Input should be a valid list", "list_type", value))
            return None
        parsed: list[str] = []
        for index, item in enumerate(value):
            one = parse_uuid(item) if isinstance(item, str) else None
            if one is None:
                self.errors.append(uuid_error(("body", name, index), item))
            else:
                parsed.append(one)
        return tuple(parsed)

    def optional_aware_datetime(self, name: str) -> datetime | None:
        value = self._data.get(name)
        if value is None:
            return None
        loc = ("body", name)
        if not isinstance(value, str):
            self.errors.append(field_error(loc, "Input should be a valid datetime", "datetime_type", value))
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            msg = "Input should be a valid datetime in ISO 8601 format"
            self.errors.append(field_error(loc, msg, "datetime_parsing", value))
            return None
        if parsed.tzinfo is None:
            self.errors.append(field_error(loc, "Input should have timezone info", "timezone_aware", value))
            return None
        return parsed.astimezone(UTC)


@dataclass(frozen=True)
class CreateKeyBody:
    description: str
    read_only: bool
    expires_at: datetime | None
    workspaces: tuple[str, ...] | None
    role_id: str | None
    org_role_id: str | None
    default_workspace_id: str | None


def parse_create_body(raw: bytes) -> CreateKeyBody:
    fields = _Fields(parse_json_object(raw))
    body = CreateKeyBody(
        description=fields.string("description", DEFAULT_DESCRIPTION),
        read_only=fields.boolean("read_only", False),
        expires_at=fields.optional_aware_datetime("expires_at"),
        workspaces=fields.optional_uuid_list("workspaces"),
        role_id=fields.optional_uuid("role_id"),
        org_role_id=fields.optional_uuid("org_role_id"),
        default_workspace_id=fields.optional_uuid("default_workspace_id"),
    )
    if fields.errors:
        raise invalid(fields.errors)
    return body


@dataclass(frozen=True)
class UpdateKeyBody:
    """E7: a null or absent field leaves that role unchanged."""

    role_id: str | None
    org_role_id: str | None


def parse_update_body(raw: bytes) -> UpdateKeyBody:
    fields = _Fields(parse_json_object(raw))
    body = UpdateKeyBody(fields.optional_uuid("role_id"), fields.optional_uuid("org_role_id"))
    if not (fields.has("role_id") or fields.has("org_role_id")):
        fields.errors.append(field_error(("body",), "Give role_id and/or org_role_id", "missing"))
    if fields.errors:
        raise invalid(fields.errors)
    return body

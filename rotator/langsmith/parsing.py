"""API JSON → domain types, tolerant of what LangSmith may add or leave out.

Unknown fields are ignored and missing optional fields take their defaults, recorded in ``ApiKey.unread`` so
that no replacement is planned from a default; a field present with the wrong type is an error: a key whose
``expires_at`` cannot be read must not pass for one that never expires.
In a list, such an item is logged (index and reason, never its contents) and skipped; the rest are kept.
Only ``id`` is required: the other fields the spec calls required default to "".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

import structlog

from rotator.domain.keys import AccessScope, ApiKey, CreatedKey, KeyKind, OrgInfo, Role, Workspace

log = structlog.get_logger(__name__)

T = TypeVar("T")
JsonObject = Mapping[str, object]

_ACCESS_SCOPES = {scope.value for scope in AccessScope}
_EXPECTED_NAMES: dict[type, str] = {str: "a string", int: "an integer", bool: "a boolean"}
_JSON_TYPE_NAMES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
}


class ShapeError(ValueError):
    """The body is not what the API promises; the message names fields and types, never values."""


def parse_list(body: object, parse_item: Callable[[object], T], *, what: str) -> list[T]:
    """Every well-formed item of a JSON array; a malformed item is logged and skipped."""
    if not isinstance(body, list):
        raise ShapeError(f"expected a JSON array of {what}, got {_json_type(body)}")
    items: list[T] = []
    for index, raw in enumerate(body):
        try:
            items.append(parse_item(raw))
        except ShapeError as error:
            log.warning("langsmith.malformed_item", what=what, index=index, reason=str(error))
    return items


def parse_api_key(raw: object, kind: KeyKind) -> ApiKey:
    item = _object(raw)
    return ApiKey(
        id=_required_str(item, "id"),
        short_key=_optional_str(item, "short_key") or "",
        description=_optional_str(item, "description") or "",
        kind=kind,
        created_at=_optional_datetime(item, "created_at"),
        expires_at=_optional_datetime(item, "expires_at"),
        last_used_at=_optional_datetime(item, "last_used_at"),
        access_scope=_access_scope(item),
        workspace_names=_str_tuple(item, "workspace_names"),
        default_workspace_name=_optional_str(item, "default_workspace_name"),
        role_id=_optional_str(item, "role_id"),
        org_role_id=_optional_str(item, "org_role_id"),
        unread=_unread(item),
    )


# Fields a replacement is planned from: each must be known (present, even if null) before it is copied.
_PLANNED_FIELDS = ("created_at", "expires_at", "access_scope", "workspace_names", "role_id", "org_role_id")


def _unread(item: JsonObject) -> frozenset[str]:
    missing = {field for field in _PLANNED_FIELDS if field not in item}
    scope = item.get("access_scope")
    if scope is not None and not (isinstance(scope, str) and scope in _ACCESS_SCOPES):
        missing.add("access_scope")
    return frozenset(missing)


def parse_created_key(raw: object, kind: KeyKind) -> CreatedKey:
    """A create response: the key's metadata plus ``key``, the secret shown only this once."""
    item = _object(raw)
    secret = item.get("key")
    if not isinstance(secret, str) or not secret:
        raise ShapeError("create response has no 'key' (the new secret)")
    if any(char.isspace() or not char.isprintable() for char in secret):
        # Stripping it would store a secret LangSmith never issued; keeping it breaks every header it goes in.
        raise ShapeError("create response has a 'key' with whitespace or control characters")
    return CreatedKey(key=parse_api_key(item, kind), secret=secret)


def parse_workspace(raw: object) -> Workspace:
    item = _object(raw)
    return Workspace(
        id=_required_str(item, "id"),
        display_name=_optional_str(item, "display_name") or "",
        organization_id=_optional_str(item, "organization_id"),
        is_deleted=_optional_bool(item, "is_deleted") or False,
    )


def parse_role(raw: object) -> Role:
    item = _object(raw)
    return Role(
        id=_required_str(item, "id"),
        name=_optional_str(item, "name") or "",
        display_name=_optional_str(item, "display_name") or "",
        access_scope=_access_scope(item),
    )


def parse_org_info(raw: object) -> OrgInfo:
    item = _object(raw)
    return OrgInfo(
        id=_required_str(item, "id"),
        display_name=_optional_str(item, "display_name") or "",
        max_service_key_expiry_days=_optional_int(item, "max_service_key_expiry_days"),
        max_pat_expiry_days=_optional_int(item, "max_pat_expiry_days"),
        max_api_key_expiry_days=_optional_int(item, "max_api_key_expiry_days"),
    )


def _object(raw: object) -> JsonObject:
    if not isinstance(raw, dict):
        raise ShapeError(f"expected a JSON object, got {_json_type(raw)}")
    return raw


def _required_str(item: JsonObject, field: str) -> str:
    value = _optional_str(item, field)
    if not value:
        raise ShapeError(f"'{field}' is missing or empty")
    return value


def _optional_str(item: JsonObject, field: str) -> str | None:
    return _typed(item, field, str)


def _optional_int(item: JsonObject, field: str) -> int | None:
    if isinstance(item.get(field), bool):  # JSON true is not a number of days
        raise ShapeError(f"'{field}' must be an integer, got boolean")
    return _typed(item, field, int)


def _optional_bool(item: JsonObject, field: str) -> bool | None:
    return _typed(item, field, bool)


def _typed(item: JsonObject, field: str, expected: type[T]) -> T | None:
    value = item.get(field)
    if value is None or isinstance(value, expected):
        return value
    raise ShapeError(f"'{field}' must be {_EXPECTED_NAMES[expected]}, got {_json_type(value)}")


def _optional_datetime(item: JsonObject, field: str) -> datetime | None:
    text = _optional_str(item, field)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
        # LangSmith writes UTC; a timestamp without an offset is read as UTC rather than local time.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except ValueError:
        raise ShapeError(f"'{field}' is not an ISO 8601 timestamp") from None
    except OverflowError:  # e.g. year 1 with a positive offset: before datetime.min once in UTC
        raise ShapeError(f"'{field}' is out of range once converted to UTC") from None


def _str_tuple(item: JsonObject, field: str) -> tuple[str, ...]:
    value = item.get(field)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ShapeError(f"'{field}' must be an array of strings")
    return tuple(value)


def _access_scope(item: JsonObject) -> AccessScope | None:
    value = item.get("access_scope")
    return AccessScope(value) if isinstance(value, str) and value in _ACCESS_SCOPES else None


def _json_type(value: object) -> str:
    return "null" if value is None else _JSON_TYPE_NAMES.get(type(value), type(value).__name__)

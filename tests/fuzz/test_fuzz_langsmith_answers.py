"""LangSmith answers of random shape: missing, extra and wrong-typed fields, huge and odd strings, odd dates.
The parsers either give a value or raise ShapeError naming the problem; nothing else escapes, and a field that
was not sent is never filled in with a default (it is listed as unread)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rotator.domain.keys import KeyKind
from rotator.langsmith.parsing import (
    ShapeError,
    parse_api_key,
    parse_created_key,
    parse_list,
    parse_org_info,
    parse_role,
    parse_workspace,
)

FIELDS = [
    "id",
    "short_key",
    "description",
    "created_at",
    "expires_at",
    "last_used_at",
    "workspaces",
    "workspace_ids",
    "role_id",
    "org_role_id",
    "access_scope",
    "key",
    "display_name",
    "name",
    "config",
]
ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "2026-01-15T12:00:00Z",
            "2026-01-15T12:00:00.123456789+05:30",
            "2026-02-30T00:00:00Z",
            "0001-01-01T00:00:00",
            "9999-12-31T23:59:59-23:59",
            "not a date",
            "",
            "00000000-0000-4000-8000-000000000001",
            "lsv2_sk_" + "x" * 32,
            "\u202e\u0000\ufeff",
            "x" * 5000,
        ]
    ),
)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), ODD_TEXT)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(FIELDS) | ODD_TEXT, inner)),
    max_leaves=12,
)
KEY_LIKE = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=len(FIELDS))

PARSERS: list[Callable[[object], object]] = [
    lambda raw: parse_api_key(raw, KeyKind.SERVICE_KEY),
    lambda raw: parse_api_key(raw, KeyKind.PERSONAL_ACCESS_TOKEN),
    lambda raw: parse_created_key(raw, KeyKind.SERVICE_KEY),
    parse_workspace,
    parse_role,
    parse_org_info,
    lambda raw: parse_list(raw, lambda item: parse_api_key(item, KeyKind.SERVICE_KEY), what="service keys"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(KEY_LIKE, JSON, st.lists(KEY_LIKE, max_size=3)), which=st.integers(0, len(PARSERS) - 1))
def test_a_parser_gives_a_value_or_a_shape_error_and_nothing_else(raw: Any, which: int) -> None:
    problem = None
    try:
        PARSERS[which](raw)
    except ShapeError as error:  # any other exception fails the test
        problem = str(error)
    assert problem is None or problem.strip(), "a refusal names the problem"


@settings(max_examples=300, deadline=None)
@given(raw=KEY_LIKE)
def test_a_field_langsmith_did_not_send_is_never_given_a_default(raw: dict[str, Any]) -> None:
    try:
        key = parse_api_key(raw, KeyKind.SERVICE_KEY)
    except ShapeError:
        return
    for field in ("expires_at", "last_used_at", "created_at"):
        if field not in raw:
            assert getattr(key, field) is None
    if "expires_at" not in raw:
        assert "expires_at" in key.unread, "a missing expiry is unknown, not never"

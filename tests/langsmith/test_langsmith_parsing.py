from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import pytest

from rotator.domain.keys import AccessScope, ApiKey, KeyKind, OrgInfo, Role, Workspace
from rotator.langsmith.parsing import (
    ShapeError,
    parse_api_key,
    parse_created_key,
    parse_list,
    parse_org_info,
    parse_role,
    parse_workspace,
)

SECRET = "lsv2_sk_" + "0123456789abcdef" * 2 + "_0123456789"
KEY_ID = "6f1c3c52-93f4-4a5e-9d2a-6f0f4f2b7a11"


def service_key(raw: object) -> ApiKey:
    return parse_api_key(raw, KeyKind.SERVICE_KEY)


def service_keys(body: object) -> list[ApiKey]:
    return parse_list(body, service_key, what="service keys")


def test_a_full_key_is_parsed_into_the_domain_type() -> None:
    raw = {
        "id": KEY_ID,
        "short_key": "lsv2_sk_01...89",
        "description": "ci-tracing",
        "created_at": "2026-01-01T00:00:00Z",
        "expires_at": "2026-04-01T12:30:00.250000+00:00",
        "last_used_at": None,
        "read_only": False,
        "workspace_names": ["prod", "staging"],
        "default_workspace_name": "prod",
        "role_id": "r-1",
        "org_role_id": None,
        "access_scope": "workspace",
    }

    assert service_key(raw) == ApiKey(
        id=KEY_ID,
        short_key="lsv2_sk_01...89",
        description="ci-tracing",
        kind=KeyKind.SERVICE_KEY,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        expires_at=datetime(2026, 4, 1, 12, 30, 0, 250000, tzinfo=UTC),
        access_scope=AccessScope.WORKSPACE,
        workspace_names=("prod", "staging"),
        default_workspace_name="prod",
        role_id="r-1",
    )


def test_missing_optional_fields_take_defaults_are_marked_unread_and_unknown_fields_are_ignored() -> None:
    key = parse_api_key({"id": KEY_ID, "created_by": "someone", "revoked_at": None}, KeyKind.PERSONAL_ACCESS_TOKEN)

    unread = frozenset({"created_at", "expires_at", "access_scope", "workspace_names", "role_id", "org_role_id"})
    assert key == ApiKey(id=KEY_ID, short_key="", description="", kind=KeyKind.PERSONAL_ACCESS_TOKEN, unread=unread)


def test_a_field_sent_as_null_is_read_and_an_unknown_access_scope_is_not() -> None:
    key = service_key(
        {
            "id": KEY_ID,
            "created_at": None,
            "expires_at": None,
            "workspace_names": None,
            "role_id": None,
            "org_role_id": None,
            "access_scope": "project",
        }
    )
    assert key.unread == {"access_scope"}
    assert key.expires_at is None


@pytest.mark.parametrize("secret", ["lsv2_sk_abc\n", "lsv2_sk abc", "lsv2_sk_\x00abc"])
def test_a_created_secret_with_whitespace_or_control_characters_is_malformed(secret: str) -> None:
    with pytest.raises(ShapeError, match="whitespace or control characters"):
        parse_created_key({"id": KEY_ID, "key": secret}, KeyKind.SERVICE_KEY)


def test_a_timestamp_out_of_range_once_in_utc_is_malformed() -> None:
    with pytest.raises(ShapeError, match="out of range"):
        service_key({"id": KEY_ID, "created_at": "0001-01-01T00:00:00+05:00"})


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-05-01T08:00:00", datetime(2026, 5, 1, 8, tzinfo=UTC)),
        ("2026-05-01T08:00:00Z", datetime(2026, 5, 1, 8, tzinfo=UTC)),
        ("2026-05-01T10:00:00+02:00", datetime(2026, 5, 1, 8, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(text: str, moment: datetime) -> None:
    expires_at = service_key({"id": KEY_ID, "expires_at": text}).expires_at

    assert expires_at == moment
    assert expires_at is not None
    assert expires_at.tzinfo is UTC


@pytest.mark.parametrize("value", ["team", "ORGANIZATION", 3, ["organization"], None])
def test_unknown_access_scope_reads_as_none_and_only_null_counts_as_read(value: object) -> None:
    key = service_key({"id": KEY_ID, "access_scope": value})
    assert key.access_scope is None
    assert ("access_scope" in key.unread) is (value is not None)


@pytest.mark.parametrize(
    ("bad_item", "reason"),
    [
        ({"description": "no id"}, "'id'"),
        ({"id": 42}, "'id' must be a string, got number"),
        ({"id": KEY_ID, "expires_at": 1767225600}, "'expires_at' must be a string"),
        ({"id": KEY_ID, "expires_at": "next tuesday"}, "'expires_at' is not an ISO 8601 timestamp"),
        ({"id": KEY_ID, "workspace_names": "prod"}, "'workspace_names' must be an array of strings"),
        ({"id": KEY_ID, "description": ["x"]}, "'description' must be a string, got array"),
        ("not an object", "expected a JSON object, got string"),
    ],
)
def test_a_malformed_item_is_logged_and_skipped_the_rest_kept(
    bad_item: object, reason: str, logs: list[MutableMapping[str, Any]]
) -> None:
    body = [{"id": "good-1"}, bad_item, {"id": "good-2"}]

    assert [key.id for key in service_keys(body)] == ["good-1", "good-2"]
    [event] = [e for e in logs if e["event"] == "langsmith.malformed_item"]
    assert event["index"] == 1
    assert reason in event["reason"]


def test_the_skipped_items_contents_are_not_logged(logs: list[MutableMapping[str, Any]]) -> None:
    service_keys([{"description": SECRET, "expires_at": SECRET}])

    assert logs
    assert SECRET not in repr(logs)


@pytest.mark.parametrize(("body", "got"), [({"items": []}, "object"), (None, "null"), ("[]", "string")])
def test_a_list_body_that_is_not_an_array_is_a_shape_error(body: object, got: str) -> None:
    with pytest.raises(ShapeError, match=f"expected a JSON array of service keys, got {got}"):
        service_keys(body)


def test_a_created_key_carries_its_secret() -> None:
    created = parse_created_key({"id": KEY_ID, "description": "ci", "key": SECRET}, KeyKind.SERVICE_KEY)

    assert created.secret == SECRET
    assert created.key.id == KEY_ID
    assert SECRET not in repr(created)


@pytest.mark.parametrize("secret", [None, "", 12345])
def test_a_create_response_without_the_secret_is_a_shape_error_that_quotes_nothing(secret: object) -> None:
    raw = {"id": KEY_ID, "description": "marker-description", "key": secret}

    with pytest.raises(ShapeError) as caught:
        parse_created_key(raw, KeyKind.SERVICE_KEY)

    assert "'key'" in str(caught.value)
    assert "marker-description" not in str(caught.value)


def test_workspace_role_and_org_info_are_parsed() -> None:
    workspace = parse_workspace(
        {
            "id": "w-1",
            "display_name": "prod",
            "organization_id": "o-1",
            "is_deleted": True,
            "tenant_handle": "p",
        }
    )
    role = parse_role({"id": "r-1", "name": "CUSTOM", "display_name": "Deployer", "access_scope": "workspace"})
    info = parse_org_info({"id": "o-1", "display_name": "Acme", "max_service_key_expiry_days": 90})

    assert workspace == Workspace(id="w-1", display_name="prod", organization_id="o-1", is_deleted=True)
    assert role == Role(id="r-1", name="CUSTOM", display_name="Deployer", access_scope=AccessScope.WORKSPACE)
    assert info == OrgInfo(id="o-1", display_name="Acme", max_service_key_expiry_days=90)


@pytest.mark.parametrize("days", [True, 90.0, "90"])
def test_an_expiry_limit_that_is_not_an_integer_is_a_shape_error(days: object) -> None:
    with pytest.raises(ShapeError, match="'max_pat_expiry_days' must be an integer"):
        parse_org_info({"id": "o-1", "max_pat_expiry_days": days})

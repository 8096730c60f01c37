import io
import json

import pytest
import structlog

from rotator.observability import MASK, configure_logging, is_secret_field, redact_text

LS_KEY = "lsv2_sk_0123456789abcdef0123456789abcdef_0a1b2c3d4e"
PAT = "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"
VAULT_TOKEN = "hvs.CAESIJ3xQk9f0bT7yV2sEwq1lZ8mNa"
OLD_VAULT_TOKEN = "s.Qf1s5zigZ4LX6vTIcrNn3mZa"
SLACK = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"


@pytest.mark.parametrize("secret", [LS_KEY, PAT, VAULT_TOKEN, OLD_VAULT_TOKEN, SLACK, "ls__0123456789abcdef"])
def test_secret_values_are_masked_inside_text(secret: str) -> None:
    masked = redact_text(f"calling with {secret} failed")
    assert secret not in masked
    assert MASK in masked
    assert masked.startswith("calling with ")


def test_key_kind_stays_readable() -> None:
    assert redact_text(LS_KEY) == f"lsv2_sk_{MASK}"
    assert redact_text(PAT) == f"lsv2_pt_{MASK}"


def test_credentials_in_urls_are_masked() -> None:
    assert redact_text("https://user:hunter2@vault.example:8200/v1") == f"https://{MASK}@vault.example:8200/v1"


def test_ordinary_text_untouched() -> None:
    text = "org acme-prod: 7 keys, short_key lsv2_sk_ab12..., settings.py, status=401"
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "token",
        "VAULT_TOKEN",
        "secret_id",
        "routing_key",
        "webhook_url",
        "key",
        "x-api-key",
        "password",
    ],
)
def test_secret_field_names(name: str) -> None:
    assert is_secret_field(name)


@pytest.mark.parametrize(
    "name",
    [
        "short_key",
        "key_id",
        "new_key_id",
        "old_key_id",
        "description",
        "keys",
        "org",
        "expires_at",
        "dedup_key",
        "managed",
        "token_ttl",
        "secret_name",
    ],
)
def test_not_secret_field_names(name: str) -> None:
    assert not is_secret_field(name)


def test_json_logs_mask_fields_values_nested_data_and_tracebacks() -> None:
    stream = io.StringIO()
    configure_logging("json", "debug", stream=stream)
    log = structlog.get_logger()
    log.info(
        "created",
        api_key="plain-looking",
        detail={"token": "t0k3n", "note": f"key={LS_KEY}"},
        items=[VAULT_TOKEN],
    )
    try:
        raise RuntimeError(f"boom with {PAT}")
    except RuntimeError:
        log.exception("failed")
    output = stream.getvalue()
    for secret in ("plain-looking", "t0k3n", LS_KEY, VAULT_TOKEN, PAT):
        assert secret not in output
    first, second = (json.loads(line) for line in output.splitlines())
    assert first["api_key"] == MASK
    assert first["detail"]["token"] == MASK
    assert first["event"] == "created"
    assert second["level"] == "error"
    assert "boom with lsv2_pt_***" in json.dumps(second["exception"])


def test_console_format_masks_too() -> None:
    stream = io.StringIO()
    configure_logging("console", "info", stream=stream)
    structlog.get_logger().warning(f"saw {LS_KEY}", token=VAULT_TOKEN)
    output = stream.getvalue()
    assert LS_KEY not in output
    assert VAULT_TOKEN not in output
    assert "saw lsv2_sk_***" in output


def test_level_filters() -> None:
    stream = io.StringIO()
    configure_logging("json", "warning", stream=stream)
    structlog.get_logger().info("quiet")
    structlog.get_logger().warning("loud")
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["loud"]

"""The mapping from hvac and transport exceptions to typed VaultErrors, and what their messages may say."""

from __future__ import annotations

import hvac.exceptions
import pytest
import requests

from rotator.ports import StoreError, WriteConflict
from rotator.vault.errors import (
    CasConflictError,
    VaultAuthError,
    VaultConfigError,
    VaultError,
    VaultNotFoundError,
    VaultPermissionError,
    VaultRequestError,
    VaultSealedError,
    VaultServerError,
    VaultUnavailableError,
)
from rotator.vault.translate import error_from_hvac, error_from_transport, vault_errors

PATH = "secret/data/langsmith/prod"
TOKEN = "hvs." + "NOTAREALTOKEN" * 3


def hvac_error(kind: type[hvac.exceptions.VaultError], *errors: str) -> hvac.exceptions.VaultError:
    return kind(errors=list(errors) or None, method="post", url=f"http://vault:8200/v1/{PATH}")


@pytest.mark.parametrize(
    ("raised", "expected", "status", "transient"),
    [
        (hvac_error(hvac.exceptions.Forbidden, "permission denied"), VaultPermissionError, 403, False),
        (hvac_error(hvac.exceptions.Unauthorized), VaultAuthError, 401, False),
        (hvac_error(hvac.exceptions.VaultDown, "Vault is sealed"), VaultSealedError, 503, True),
        (hvac_error(hvac.exceptions.VaultDown, "node is in standby"), VaultUnavailableError, 503, True),
        (hvac_error(hvac.exceptions.RateLimitExceeded, "quota exceeded"), VaultUnavailableError, 429, True),
        (hvac_error(hvac.exceptions.BadGateway), VaultUnavailableError, 502, True),
        (
            hvac_error(hvac.exceptions.InvalidRequest, "check-and-set parameter did not match the current version"),
            CasConflictError,
            400,
            False,
        ),
        (hvac_error(hvac.exceptions.InvalidRequest, "invalid key"), VaultRequestError, 400, False),
        (hvac_error(hvac.exceptions.InvalidPath), VaultNotFoundError, 404, False),
        (hvac_error(hvac.exceptions.InternalServerError, "storage failed"), VaultServerError, 500, False),
        (hvac_error(hvac.exceptions.VaultNotInitialized), VaultServerError, 501, False),
        (hvac_error(hvac.exceptions.UnexpectedError, "teapot"), VaultServerError, None, False),
    ],
)
def test_hvac_exceptions_map_to_typed_errors(
    raised: hvac.exceptions.VaultError, expected: type[VaultError], status: int | None, transient: bool
) -> None:
    error = error_from_hvac(raised, operation="write", path=PATH)

    assert type(error) is expected
    assert error.status == status
    assert error.transient is transient
    assert (error.operation, error.path) == ("write", PATH)
    assert f"write {PATH}" in str(error)


def test_a_sealed_vault_is_also_unavailable() -> None:
    assert issubclass(VaultSealedError, VaultUnavailableError)


def test_permission_errors_name_the_operation_path_and_capability() -> None:
    error = error_from_hvac(hvac_error(hvac.exceptions.Forbidden, "permission denied"), operation="write", path=PATH)

    assert str(error) == f"permission denied: write {PATH} (the token's policy needs 'create/update' on {PATH})"


def test_cas_conflicts_say_what_happened() -> None:
    raised = hvac_error(hvac.exceptions.InvalidRequest, "check-and-set parameter did not match the current version")
    error = error_from_hvac(raised, operation="write", path=PATH)

    assert str(error) == f"check-and-set parameter did not match the current version: write {PATH}"


def test_vault_multierror_text_is_flattened_to_one_line() -> None:
    raised = hvac_error(hvac.exceptions.InvalidRequest, "1 error occurred:\n\t* invalid custom_metadata key\n\n")

    error = error_from_hvac(raised, operation="write metadata", path="secret/metadata/x")

    assert str(error) == "invalid request: write metadata secret/metadata/x: invalid custom_metadata key"


def test_token_shaped_text_from_the_server_is_masked() -> None:
    raised = hvac_error(hvac.exceptions.InvalidRequest, f"bad token {TOKEN}")

    error = error_from_hvac(raised, operation="read", path=PATH)

    assert TOKEN not in str(error)
    assert "hvs.***" in str(error)


def test_long_server_text_is_truncated() -> None:
    error = error_from_hvac(hvac_error(hvac.exceptions.InternalServerError, "x" * 5000), operation="read", path=PATH)

    assert len(str(error)) < 400


@pytest.mark.parametrize(
    ("raised", "expected", "text"),
    [
        (requests.exceptions.ConnectionError("Connection refused"), VaultUnavailableError, "connection refused"),
        (requests.exceptions.ConnectTimeout("timed out"), VaultUnavailableError, "did not answer in time"),
        (requests.exceptions.ReadTimeout("read timed out"), VaultUnavailableError, "did not answer in time"),
        (requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED"), VaultConfigError, "VAULT_CACERT"),
        (requests.exceptions.InvalidURL("bad"), VaultConfigError, "invalid Vault address"),
        (requests.exceptions.ChunkedEncodingError("eh"), VaultUnavailableError, "ChunkedEncodingError"),
    ],
)
def test_transport_failures_map_to_typed_errors(
    raised: requests.exceptions.RequestException, expected: type[VaultError], text: str
) -> None:
    error = error_from_transport(raised, operation="read", path=PATH)

    assert type(error) is expected
    assert error.status is None
    assert text in str(error)
    assert f"read {PATH}" in str(error)


def test_the_context_manager_converts_and_chains() -> None:
    raised = hvac_error(hvac.exceptions.Forbidden, "permission denied")

    with pytest.raises(VaultPermissionError) as caught, vault_errors("read", PATH):
        raise raised

    assert caught.value.__cause__ is raised


def test_the_context_manager_lets_typed_and_foreign_errors_through() -> None:
    already = VaultAuthError("login failed")

    with pytest.raises(VaultAuthError) as caught, vault_errors("read", PATH):
        raise already
    with pytest.raises(KeyError), vault_errors("read", PATH):
        raise KeyError("not a Vault failure")

    assert caught.value is already


def test_every_message_is_masked_even_when_built_by_hand() -> None:
    assert TOKEN not in str(VaultError(f"oops {TOKEN}"))


@pytest.mark.parametrize(
    ("error_type", "applied"),
    [
        (VaultPermissionError, False),
        (VaultAuthError, False),
        (VaultRequestError, False),
        (VaultConfigError, False),
        (VaultNotFoundError, False),
        (VaultSealedError, False),
        (CasConflictError, False),
        (VaultUnavailableError, None),
        (VaultServerError, None),
    ],
)
def test_each_error_says_whether_a_failed_write_was_applied(error_type: type[VaultError], applied: bool | None) -> None:
    """The saga reads this, not the class: a refusal means nothing was stored; a lost answer means unknown."""
    error = error_type("x", operation="write", path="secret/data/a")
    assert isinstance(error, StoreError)
    assert error.write_applied is applied
    assert isinstance(error, WriteConflict) is (error_type is CasConflictError)

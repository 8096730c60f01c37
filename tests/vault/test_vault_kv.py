"""KvStore against a real OpenBao dev server: round trips, check-and-set, metadata, refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import hvac.exceptions
import pytest

from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.ports import SecretVersion
from rotator.vault.auth import TokenAuth
from rotator.vault.errors import CasConflictError, VaultConfigError, VaultPermissionError
from rotator.vault.kv import KvStore, parse_time
from rotator.vault.session import VaultSession
from tests.support.logs import LogList, events
from tests.support.openbao import grant
from tests.support.secrets_scan import assert_no_secrets

pytestmark = pytest.mark.integration

SECRET_VALUE = "lsv2_sk_" + "a1b2c3d4" * 4 + "_0123456789"


def test_the_dev_server_mounts_kv_v2_at_secret(openbao: OpenBaoDevServer) -> None:
    assert openbao.kv_mount_version("secret") == "2"


def test_write_then_read_round_trips_data_version_and_time(openbao_kv: KvStore, kv_prefix: str) -> None:
    path = f"{kv_prefix}/app"
    before = datetime.now(UTC)

    version = openbao_kv.write(path, {"api_key": SECRET_VALUE, "nested": {"n": 1}}, cas=0)
    stored = openbao_kv.read(path)

    assert version == 1
    assert stored is not None
    assert stored.version == 1
    assert stored.data == {"api_key": SECRET_VALUE, "nested": {"n": 1}}
    assert stored.custom_metadata == {}
    assert stored.created_at is not None
    assert stored.created_at >= before.replace(microsecond=0)
    assert stored.created_at.tzinfo is UTC


def test_each_write_makes_a_new_version_and_old_versions_stay_readable(openbao_kv: KvStore, kv_prefix: str) -> None:
    path = f"{kv_prefix}/app"
    assert openbao_kv.write(path, {"v": "one"}, cas=0) == 1
    assert openbao_kv.write(path, {"v": "two"}, cas=1) == 2

    latest = openbao_kv.read(path)
    first = openbao_kv.read(path, version=1)

    assert latest is not None
    assert (latest.version, latest.data) == (2, {"v": "two"})
    assert first is not None
    assert (first.version, first.data) == (1, {"v": "one"})


def test_an_absent_path_reads_as_none(openbao_kv: KvStore, kv_prefix: str) -> None:
    assert openbao_kv.read(f"{kv_prefix}/never-written") is None
    assert openbao_kv.read_metadata(f"{kv_prefix}/never-written") is None


def test_a_deleted_latest_version_reads_as_none(openbao: OpenBaoDevServer, openbao_kv: KvStore, kv_prefix: str) -> None:
    path = f"{kv_prefix}/app"
    openbao_kv.write(path, {"v": "one"}, cas=0)
    openbao_kv.write(path, {"v": "two"}, cas=1)
    openbao.root_client().secrets.kv.v2.delete_latest_version_of_secret(path)

    metadata = openbao_kv.read_metadata(path)

    assert openbao_kv.read(path) is None
    previous = openbao_kv.read(path, version=1)
    assert previous is not None
    assert previous.data == {"v": "one"}
    assert metadata is not None
    assert metadata.current_version == 2
    assert not metadata.versions[2].readable
    assert metadata.versions[2].deleted_at is not None
    assert metadata.versions[1].readable


def test_a_destroyed_latest_version_reads_as_none(
    openbao: OpenBaoDevServer, openbao_kv: KvStore, kv_prefix: str
) -> None:
    path = f"{kv_prefix}/app"
    openbao_kv.write(path, {"v": "one"}, cas=0)
    openbao.root_client().secrets.kv.v2.destroy_secret_versions(path, versions=[1])

    metadata = openbao_kv.read_metadata(path)

    assert openbao_kv.read(path) is None
    assert metadata is not None
    assert metadata.versions[1].destroyed


def test_cas_zero_creates_but_never_overwrites(openbao_kv: KvStore, kv_prefix: str) -> None:
    path = f"{kv_prefix}/app"
    openbao_kv.write(path, {"v": "first"}, cas=0)

    with pytest.raises(CasConflictError, match="check-and-set parameter did not match the current version") as caught:
        openbao_kv.write(path, {"v": "second"}, cas=0)

    assert caught.value.path == f"secret/data/{path}"
    assert caught.value.operation == "write"
    stored = openbao_kv.read(path)
    assert stored is not None
    assert stored.data == {"v": "first"}


def test_a_concurrent_writer_makes_the_slower_cas_write_fail(
    openbao: OpenBaoDevServer, openbao_kv: KvStore, kv_prefix: str
) -> None:
    path = f"{kv_prefix}/app"
    openbao_kv.write(path, {"v": "base"}, cas=0)
    other = KvStore(VaultSession(address=openbao.address, auth=TokenAuth(openbao.root_token)))
    seen_by_us = openbao_kv.read(path)
    seen_by_other = other.read(path)
    assert seen_by_us is not None
    assert seen_by_other is not None

    assert other.write(path, {"v": "theirs"}, cas=seen_by_other.version) == 2
    with pytest.raises(CasConflictError):
        openbao_kv.write(path, {"v": "ours"}, cas=seen_by_us.version)

    stored = openbao_kv.read(path)
    assert stored is not None
    assert (stored.version, stored.data) == (2, {"v": "theirs"})


@pytest.mark.parametrize("cas", [-1, True, None])
def test_cas_must_be_a_version_number(openbao_kv: KvStore, kv_prefix: str, cas: object) -> None:
    with pytest.raises(ValueError, match="cas must be a version number"):
        openbao_kv.write(f"{kv_prefix}/app", {"v": "x"}, cas=cas)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["", "/", "a//b", "a/../b"])
def test_paths_must_be_plain_relative_paths(openbao_kv: KvStore, path: str) -> None:
    with pytest.raises(ValueError, match="invalid KV path"):
        openbao_kv.read(path)


def test_custom_metadata_is_set_read_and_replaced_without_touching_max_versions(
    openbao: OpenBaoDevServer, openbao_kv: KvStore, kv_prefix: str
) -> None:
    path = f"{kv_prefix}/app"
    openbao_kv.write(path, {"v": "one"}, cas=0)
    openbao.root_client().secrets.kv.v2.update_metadata(path, max_versions=4, delete_version_after="72h")

    openbao_kv.set_custom_metadata(path, {"rotated_by": "tests", "previous_key_id": "k-1"})
    openbao_kv.set_custom_metadata(path, {"rotated_by": "tests", "rotation_id": "r-2"})

    metadata = openbao_kv.read_metadata(path)
    stored = openbao_kv.read(path)
    raw = openbao.root_client().secrets.kv.v2.read_secret_metadata(path)["data"]
    assert metadata is not None
    assert metadata.custom_metadata == {"rotated_by": "tests", "rotation_id": "r-2"}
    assert metadata.max_versions == 4
    assert raw["delete_version_after"] == "72h0m0s"
    assert stored is not None
    assert stored.custom_metadata == {"rotated_by": "tests", "rotation_id": "r-2"}


def test_writing_with_a_read_only_policy_is_a_permission_error_naming_the_path(
    openbao: OpenBaoDevServer, openbao_kv: KvStore, kv_prefix: str
) -> None:
    openbao_kv.write(f"{kv_prefix}/app", {"v": "one"}, cas=0)
    grant(openbao, f"{kv_prefix}-ro", {f"secret/data/{kv_prefix}/*": ["read"]})
    token = openbao.create_token([f"{kv_prefix}-ro"])
    readonly = KvStore(VaultSession(address=openbao.address, auth=TokenAuth(token)))

    stored = readonly.read(f"{kv_prefix}/app")
    with pytest.raises(VaultPermissionError) as caught:
        readonly.write(f"{kv_prefix}/app", {"v": "two"}, cas=1)

    assert stored is not None
    assert stored.data == {"v": "one"}
    assert str(caught.value).startswith(f"permission denied: write secret/data/{kv_prefix}/app")
    assert caught.value.status == 403
    assert caught.value.path == f"secret/data/{kv_prefix}/app"
    assert token not in str(caught.value)


def test_a_path_outside_the_policy_is_refused_on_read(openbao: OpenBaoDevServer, kv_prefix: str) -> None:
    grant(openbao, f"{kv_prefix}-narrow", {f"secret/data/{kv_prefix}/allowed": ["read"]})
    token = openbao.create_token([f"{kv_prefix}-narrow"])
    narrow = KvStore(VaultSession(address=openbao.address, auth=TokenAuth(token)))

    with pytest.raises(VaultPermissionError, match=f"permission denied: read secret/data/{kv_prefix}/other"):
        narrow.read(f"{kv_prefix}/other")


def test_a_kv_v1_mount_is_a_config_error_naming_the_mount(
    openbao: OpenBaoDevServer, openbao_session: VaultSession
) -> None:
    mount = f"kv1-{uuid.uuid4().hex[:8]}"
    openbao.enable_kv(mount, version=1)
    store = KvStore(openbao_session, mount=mount)

    with pytest.raises(VaultConfigError, match=f"mount {mount}/ is KV version 1"):
        store.write("app", {"v": "one"}, cas=0)
    with pytest.raises(VaultConfigError, match=f"mount {mount}/ is KV version 1"):
        store.read("app")
    with pytest.raises(hvac.exceptions.InvalidPath):  # nothing was written as a v1 secret named "data/app"
        openbao.root_client().secrets.kv.v1.read_secret("data/app", mount_point=mount)


def test_a_missing_mount_is_a_config_error_naming_the_mount(openbao_session: VaultSession) -> None:
    mount = f"nothing-{uuid.uuid4().hex[:8]}"

    with pytest.raises(VaultConfigError, match=f"no secrets engine is mounted at {mount}/"):
        KvStore(openbao_session, mount=mount).read("app")


def test_the_mount_check_works_for_a_token_limited_to_one_folder(openbao: OpenBaoDevServer, kv_prefix: str) -> None:
    mount = f"kv1-{uuid.uuid4().hex[:8]}"
    openbao.enable_kv(mount, version=1)
    grant(openbao, f"{kv_prefix}-v1", {f"{mount}/data/{kv_prefix}/*": ["read", "create", "update"]})
    token = openbao.create_token([f"{kv_prefix}-v1"])
    store = KvStore(VaultSession(address=openbao.address, auth=TokenAuth(token)), mount=mount)

    with pytest.raises(VaultConfigError, match="is KV version 1"):
        store.write(f"{kv_prefix}/app", {"v": "one"}, cas=0)


def test_a_token_that_may_not_look_at_the_mount_still_gets_a_clear_permission_error(
    openbao: OpenBaoDevServer, kv_prefix: str
) -> None:
    token = openbao.create_token(["default"])
    store = KvStore(VaultSession(address=openbao.address, auth=TokenAuth(token)))

    with pytest.raises(VaultPermissionError, match=f"permission denied: read secret/data/{kv_prefix}/app"):
        store.read(f"{kv_prefix}/app")


def test_the_mount_is_checked_once_per_session(openbao_kv: KvStore, kv_prefix: str, logs: LogList) -> None:
    openbao_kv.read(f"{kv_prefix}/a")
    openbao_kv.read(f"{kv_prefix}/b")
    KvStore(openbao_kv.session).read(f"{kv_prefix}/c")

    assert openbao_kv.session.checked_mounts == {"secret"}
    assert "vault.kv_mount_unverified" not in events(logs)


def test_no_value_reaches_reprs_or_logs(openbao_kv: KvStore, kv_prefix: str, logs: LogList) -> None:
    path = f"{kv_prefix}/app"
    openbao_kv.write(path, {"api_key": SECRET_VALUE}, cas=0)
    stored = openbao_kv.read(path)
    openbao_kv.set_custom_metadata(path, {"managed_name": "app"})
    with pytest.raises(CasConflictError) as caught:
        openbao_kv.write(path, {"api_key": SECRET_VALUE}, cas=0)

    assert stored is not None
    assert "api_key" in repr(stored)
    assert_no_secrets(repr(stored) + str(stored) + str(caught.value) + repr(caught.value), known=[SECRET_VALUE])
    assert_no_secrets(repr(logs), known=[SECRET_VALUE, openbao_kv.session.client().token])
    written = [entry for entry in logs if entry["event"] == "vault.kv_written"]
    assert written == [
        {"event": "vault.kv_written", "log_level": "info", "path": f"secret/data/{path}", "version": 1, "cas": 0}
    ]


def test_secret_version_repr_shows_keys_and_version_only() -> None:
    version = SecretVersion(data={"api_key": SECRET_VALUE}, version=3, custom_metadata={"by": "me"})

    assert repr(version) == "SecretVersion(version=3, keys=['api_key'], custom_metadata={'by': 'me'})"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T23:43:33.56785879Z", datetime(2026, 11, 26, 23, 43, 33, 567858, tzinfo=UTC)),
        ("2026-11-26T23:43:33Z", datetime(2026, 11, 26, 23, 43, 33, tzinfo=UTC)),
        ("", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_vault_timestamps_parse_to_aware_utc(text: object, expected: datetime | None) -> None:
    assert parse_time(text) == expected

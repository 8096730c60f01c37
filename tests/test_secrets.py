"""Where a secret comes from, read at use time: environment, file, Vault; a credential read again on refresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from rotator.config import ConfigError, SecretRef
from rotator.secrets import SecretResolver, describe_source
from rotator.vault.kv import KvStore

ENV = SecretRef(env="LANGSMITH_API_KEY")


def test_a_missing_variable_names_itself_and_who_needs_it() -> None:
    with pytest.raises(
        ConfigError,
        match=r"LANGSMITH_API_KEY: environment variable is not set or empty \(needed by org 'default'\)",
    ):
        SecretResolver({"LANGSMITH_API_KEY": "  "}).read(ENV, "org 'default'")


def test_a_file_is_read_at_each_use_and_an_empty_one_refused(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("  from-file\n")
    ref = SecretRef(file=token)
    secrets = SecretResolver({})
    assert secrets.read(ref, "a") == "from-file"
    token.write_text("")
    with pytest.raises(ConfigError, match="file is empty"):
        secrets.read(ref, "a")


def test_a_vault_reference_without_vault_names_the_field() -> None:
    ref = SecretRef.model_validate({"vault": {"path": "langsmith/admin"}})
    with pytest.raises(ConfigError, match=r"orgs\[0\]\.api_key\.vault: a Vault reference needs the vault section"):
        SecretResolver({}).read(ref, "orgs[0].api_key")


@pytest.mark.integration
def test_a_credential_from_vault_is_read_again_on_refresh(openbao_kv: KvStore, kv_prefix: str) -> None:
    path = f"{kv_prefix}/admin"
    openbao_kv.write(path, {"api_key": "lsv2_sk_first"}, cas=0)
    ref = SecretRef.model_validate({"vault": {"path": path}})
    key = SecretResolver({}, lambda mount: openbao_kv).credential(ref, "orgs[0].api_key")
    assert key.secret == "lsv2_sk_first"

    assert key.refresh() is False, "unchanged"
    openbao_kv.write(path, {"api_key": "lsv2_sk_second"}, cas=1)
    assert key.secret == "lsv2_sk_first", "read at use time, not at every access"
    assert key.refresh() is True
    assert key.secret == "lsv2_sk_second"

    key.switch("lsv2_sk_third")
    assert key.secret == "lsv2_sk_third"
    assert "lsv2" not in repr(key)


@pytest.mark.integration
def test_a_credential_keeps_its_value_when_a_refresh_finds_nothing_usable(openbao_kv: KvStore, kv_prefix: str) -> None:
    kv = openbao_kv
    path = f"{kv_prefix}/admin"
    kv.write(path, {"api_key": "lsv2_sk_kept"}, cas=0)
    ref = SecretRef.model_validate({"vault": {"path": path, "field": "other"}})
    with pytest.raises(ConfigError, match=r"no field 'other'"):
        SecretResolver({}, lambda mount: kv).credential(ref, "orgs[0].api_key")
    key = SecretResolver({}, lambda mount: kv).credential(SecretRef.model_validate({"vault": {"path": path}}), "x")
    kv.write(path, {"not_the_key": "x"}, cas=1)
    assert key.refresh() is False and key.secret == "lsv2_sk_kept"


def test_sources_are_described_without_their_values(tmp_path: Path) -> None:
    assert describe_source(ENV) == "environment variable LANGSMITH_API_KEY"
    assert describe_source(SecretRef(file=tmp_path / "k")) == f"file {tmp_path / 'k'}"
    vault = SecretRef.model_validate({"vault": {"path": "langsmith/admin", "mount": "kv"}})
    assert describe_source(vault) == "Vault kv/langsmith/admin, field api_key"

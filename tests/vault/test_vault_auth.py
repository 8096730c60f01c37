"""Authentication methods: unit tests with a fake hvac client, integration tests against OpenBao."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import hvac.exceptions
import pytest

from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.vault.auth import AppRoleAuth, KubernetesAuth, LoginResult, TokenAuth
from rotator.vault.errors import VaultAuthError, VaultUnavailableError
from rotator.vault.kv import KvStore
from rotator.vault.session import VaultSession
from tests.support.logs import LogList
from tests.support.openbao import grant
from tests.support.secrets_scan import assert_no_secrets

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cm90YXRvcjpyb3RhdG9yIn0.c2lnbmF0dXJl"


class FakeKubernetesLogin:
    def __init__(self, response: dict[str, Any] | Exception) -> None:
        self.response = response
        self.calls: list[dict[str, Any]] = []

    def login(self, role: str, jwt: str, use_token: bool = True, mount_point: str = "kubernetes") -> dict[str, Any]:
        self.calls.append({"role": role, "jwt": jwt, "use_token": use_token, "mount_point": mount_point})
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


class FakeClient:
    """Just enough of hvac.Client for KubernetesAuth."""

    def __init__(self, response: dict[str, Any] | Exception) -> None:
        self.token = ""
        self.kubernetes = FakeKubernetesLogin(response)
        self.auth = self


def login_response(token: str = "s.kubetoken", ttl: int = 600, renewable: bool = True) -> dict[str, Any]:
    return {"auth": {"client_token": token, "lease_duration": ttl, "renewable": renewable}}


# ── Kubernetes (unit) ───────────────────────────────────────────────────────────────────────────────────


def test_kubernetes_login_reads_the_jwt_file_and_passes_role_and_mount(tmp_path: Path) -> None:
    jwt_file = tmp_path / "token"
    jwt_file.write_text(JWT + "\n")
    client = FakeClient(login_response(ttl=600))

    result = KubernetesAuth("rotator", jwt_file=jwt_file, mount="k8s-prod").login(client)

    assert result == LoginResult("s.kubetoken", 600, True)
    assert client.kubernetes.calls == [{"role": "rotator", "jwt": JWT, "use_token": False, "mount_point": "k8s-prod"}]


def test_kubernetes_login_rereads_a_rotated_jwt(tmp_path: Path) -> None:
    jwt_file = tmp_path / "token"
    auth = KubernetesAuth("rotator", jwt_file=jwt_file)
    client = FakeClient(login_response())

    jwt_file.write_text("first.jwt.value")
    auth.login(client)
    jwt_file.write_text("second.jwt.value")
    auth.login(client)

    assert [call["jwt"] for call in client.kubernetes.calls] == ["first.jwt.value", "second.jwt.value"]
    assert client.kubernetes.calls[0]["mount_point"] == "kubernetes"


def test_kubernetes_defaults_to_the_projected_service_account_token() -> None:
    auth = KubernetesAuth("rotator")

    assert auth.jwt_file == Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
    assert auth.mount == "kubernetes"


def test_a_missing_jwt_file_is_an_auth_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope"

    with pytest.raises(VaultAuthError, match=f"cannot read the Vault service-account JWT file {missing}"):
        KubernetesAuth("rotator", jwt_file=missing).login(FakeClient(login_response()))


def test_a_refused_kubernetes_login_is_an_auth_error_without_the_jwt(tmp_path: Path) -> None:
    jwt_file = tmp_path / "token"
    jwt_file.write_text(JWT)
    refused = hvac.exceptions.Forbidden(errors=["permission denied"], method="post", url="http://v/v1/auth/k/login")

    with pytest.raises(VaultAuthError) as caught:
        KubernetesAuth("rotator", jwt_file=jwt_file).login(FakeClient(refused))

    assert str(caught.value).startswith("Vault login failed (kubernetes role 'rotator' at auth/kubernetes)")
    assert "permission denied" in str(caught.value)
    assert JWT not in str(caught.value)
    assert JWT not in repr(KubernetesAuth("rotator", jwt_file=jwt_file))


def test_a_login_answer_without_a_token_is_an_auth_error(tmp_path: Path) -> None:
    jwt_file = tmp_path / "token"
    jwt_file.write_text(JWT)

    with pytest.raises(VaultAuthError, match="returned no token"):
        KubernetesAuth("rotator", jwt_file=jwt_file).login(FakeClient({"auth": None}))


# ── construction ────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "build",
    [
        TokenAuth,
        lambda: TokenAuth("t", token_file="/tmp/t"),
        lambda: TokenAuth("  "),
        AppRoleAuth,
        lambda: AppRoleAuth("r", role_id_file="/tmp/r"),
        lambda: AppRoleAuth("r", "s", secret_id_file="/tmp/s"),
        lambda: KubernetesAuth(""),
    ],
)
def test_ambiguous_or_missing_credentials_are_refused_early(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=r"give|empty"):
        build()


def test_reprs_never_show_credentials(tmp_path: Path) -> None:
    token_auth = TokenAuth("s.supersecrettokenvalue0001")
    approle = AppRoleAuth("role-id-1234", "secret-id-5678")
    result = LoginResult("s.supersecrettokenvalue0002", 60, True)

    text = repr(token_auth) + repr(approle) + repr(result) + approle.description + token_auth.description

    assert_no_secrets(text, known=["s.supersecrettokenvalue0001", "secret-id-5678", "s.supersecrettokenvalue0002"])
    assert "role-id-1234" not in text


# ── against OpenBao ─────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.integration
def test_token_auth_reads_the_token_file_at_each_login(
    openbao: OpenBaoDevServer, kv_prefix: str, tmp_path: Path
) -> None:
    grant(openbao, f"{kv_prefix}-rw", {f"secret/data/{kv_prefix}/*": ["read", "create", "update"]})
    first = openbao.create_token([f"{kv_prefix}-rw"])
    second = openbao.create_token([f"{kv_prefix}-rw"])
    token_file = tmp_path / "vault-token"
    token_file.write_text(first + "\n")
    session = VaultSession(address=openbao.address, auth=TokenAuth(token_file=token_file))
    kv = KvStore(session)

    kv.write(f"{kv_prefix}/app", {"v": "one"}, cas=0)
    token_file.write_text(second)
    openbao.revoke_token(first)
    version = kv.write(f"{kv_prefix}/app", {"v": "two"}, cas=1)

    assert version == 2
    assert session.client().token == second


@pytest.mark.integration
def test_token_auth_learns_ttl_and_renewability(openbao: OpenBaoDevServer) -> None:
    token = openbao.create_token(["default"], ttl="90s")
    client = hvac.Client(url=openbao.address, token="")

    result = TokenAuth(token).login(client)
    root = TokenAuth(openbao.root_token).login(client)

    assert 80 <= result.ttl_seconds <= 90
    assert result.renewable
    assert (root.ttl_seconds, root.renewable) == (0, False)


@pytest.mark.integration
def test_a_revoked_token_is_an_auth_error(openbao: OpenBaoDevServer) -> None:
    token = openbao.create_token(["default"])
    openbao.revoke_token(token)

    with pytest.raises(VaultAuthError, match="invalid, expired or revoked") as caught:
        VaultSession(address=openbao.address, auth=TokenAuth(token)).client()

    assert token not in str(caught.value)


@pytest.mark.integration
def test_approle_login_works_with_credentials_given_or_in_files(
    openbao: OpenBaoDevServer, kv_prefix: str, tmp_path: Path
) -> None:
    grant(openbao, f"{kv_prefix}-app", {f"secret/data/{kv_prefix}/*": ["read", "create", "update"]})
    creds = openbao.create_approle(kv_prefix, [f"{kv_prefix}-app"], ttl="5m")
    (tmp_path / "role_id").write_text(creds.role_id)
    (tmp_path / "secret_id").write_text(creds.secret_id + "\n")
    given = AppRoleAuth(creds.role_id, creds.secret_id)
    from_files = AppRoleAuth(role_id_file=tmp_path / "role_id", secret_id_file=tmp_path / "secret_id")

    direct = given.login(hvac.Client(url=openbao.address, token=""))
    via_files = KvStore(VaultSession(address=openbao.address, auth=from_files))
    version = via_files.write(f"{kv_prefix}/app", {"v": "one"}, cas=0)

    assert direct.renewable
    assert 290 <= direct.ttl_seconds <= 300
    assert direct.token.startswith("s.")
    assert version == 1


@pytest.mark.integration
def test_a_wrong_secret_id_is_an_auth_error_without_the_secret(
    openbao: OpenBaoDevServer, kv_prefix: str, logs: LogList
) -> None:
    creds = openbao.create_approle(kv_prefix, ["default"])
    wrong = "0c0ffee0-dead-beef-0000-" + "1" * 12

    with pytest.raises(VaultAuthError) as caught:
        VaultSession(address=openbao.address, auth=AppRoleAuth(creds.role_id, wrong)).client()

    assert str(caught.value) == "Vault login failed (approle at auth/approle): invalid role or secret ID"
    assert caught.value.path == "auth/approle/login"
    assert_no_secrets(str(caught.value) + repr(logs), known=[wrong, creds.secret_id])


@pytest.mark.integration
def test_approle_at_a_mount_that_does_not_exist_says_so(openbao: OpenBaoDevServer, kv_prefix: str) -> None:
    creds = openbao.create_approle(kv_prefix, ["default"])

    with pytest.raises(VaultAuthError, match="an auth method is enabled at auth/elsewhere"):
        AppRoleAuth(creds.role_id, creds.secret_id, mount="elsewhere").login(hvac.Client(url=openbao.address, token=""))


@pytest.mark.integration
def test_login_to_an_unreachable_vault_is_unavailable_not_an_auth_failure(unused_port: int) -> None:
    auth = AppRoleAuth("role", "secret")

    with pytest.raises(VaultUnavailableError, match="cannot connect to Vault: login auth/approle/login"):
        auth.login(hvac.Client(url=f"http://127.0.0.1:{unused_port}", token="", timeout=2))

"""VaultSession: lazy login, renewal before expiry, re-login, refusals, health; mostly against OpenBao."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import hvac
import hvac.exceptions
import pytest
import requests

from langsmith_sandbox import SandboxServer
from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.vault.auth import AppRoleAuth, HvacClient, LoginResult, TokenAuth
from rotator.vault.errors import VaultAuthError, VaultSealedError, VaultUnavailableError
from rotator.vault.kv import KvStore
from rotator.vault.session import VaultSession
from tests.support.clocks import FakeClock
from tests.support.logs import LogList, events
from tests.support.openbao import grant, require_bao
from tests.support.secrets_scan import assert_no_secrets


def approle_session(
    openbao: OpenBaoDevServer, kv_prefix: str, clock: FakeClock[float], *, ttl: str = "1h", batch: bool = False
) -> VaultSession:
    grant(openbao, f"{kv_prefix}-rw", {f"secret/data/{kv_prefix}/*": ["read", "create", "update"]})
    creds = openbao.create_approle(kv_prefix, [f"{kv_prefix}-rw"], ttl=ttl, batch=batch)
    return VaultSession(address=openbao.address, auth=AppRoleAuth(creds.role_id, creds.secret_id), clock=clock)


def logins(logs: LogList) -> list[str]:
    return [str(entry["reason"]) for entry in logs if entry["event"] == "vault.login"]


# ── against OpenBao ─────────────────────────────────────────────────────────────────────────────────────

pytestmark = pytest.mark.integration


def test_the_session_logs_in_lazily_once(openbao: OpenBaoDevServer, clock: FakeClock[float], logs: LogList) -> None:
    session = VaultSession(address=openbao.address, auth=TokenAuth(openbao.root_token), clock=clock)
    assert logins(logs) == []

    first = session.client()
    again = session.client()

    assert first is again
    assert first.token == openbao.root_token
    assert logins(logs) == ["first use"]


def test_a_token_with_a_third_of_its_ttl_left_is_renewed(
    openbao: OpenBaoDevServer, clock: FakeClock[float], logs: LogList
) -> None:
    token = openbao.create_token(["default"], ttl="30s")
    session = VaultSession(address=openbao.address, auth=TokenAuth(token), clock=clock)
    session.client()
    assert not openbao.token_info(token).get("last_renewal_time")

    clock.advance(15)  # half the TTL left: nothing to do yet
    session.client()
    assert "vault.token_renewed" not in events(logs)

    clock.advance(6)  # 9 of 30 seconds left: renew
    client = session.client()

    assert client.token == token
    assert openbao.token_info(token)["last_renewal_time"] > 0
    assert "vault.token_renewed" in events(logs)
    assert logins(logs) == ["first use"]
    expires_in = session.token_expires_in()
    assert expires_in is not None
    assert 25 <= expires_in <= 30


def test_a_token_that_never_expires_is_never_renewed(
    openbao: OpenBaoDevServer, clock: FakeClock[float], logs: LogList
) -> None:
    session = VaultSession(address=openbao.address, auth=TokenAuth(openbao.root_token), clock=clock)
    session.client()

    clock.advance(10 * 365 * 86400)
    session.client()

    assert session.token_expires_in() is None
    assert "vault.token_renewed" not in events(logs)
    assert logins(logs) == ["first use"]


def test_a_batch_token_is_replaced_by_logging_in_again(
    openbao: OpenBaoDevServer, kv_prefix: str, clock: FakeClock[float], logs: LogList
) -> None:
    session = approle_session(openbao, kv_prefix, clock, ttl="60s", batch=True)
    old = session.client().token

    clock.advance(45)
    new = session.client().token

    assert new != old
    assert new.startswith("b.")
    assert logins(logs) == ["first use", "token not renewable"]
    assert KvStore(session).write(f"{kv_prefix}/app", {"v": "one"}, cas=0) == 1


def test_a_token_whose_renewal_fails_is_replaced_by_logging_in_again(
    openbao: OpenBaoDevServer, kv_prefix: str, clock: FakeClock[float], logs: LogList
) -> None:
    session = approle_session(openbao, kv_prefix, clock, ttl="60s")
    old = session.client().token
    openbao.revoke_token(old)

    clock.advance(50)
    new = session.client().token

    assert new != old
    assert "vault.token_renewal_failed" in events(logs)
    assert logins(logs) == ["first use", "renewal failed"]


def test_a_token_revoked_mid_life_is_replaced_and_the_call_retried(
    openbao: OpenBaoDevServer, kv_prefix: str, clock: FakeClock[float], logs: LogList
) -> None:
    session = approle_session(openbao, kv_prefix, clock)
    kv = KvStore(session)
    kv.write(f"{kv_prefix}/app", {"v": "one"}, cas=0)
    old = session.client().token

    openbao.revoke_token(old)
    version = kv.write(f"{kv_prefix}/app", {"v": "two"}, cas=1)

    assert version == 2
    assert session.client().token != old
    assert "vault.token_rejected" in events(logs)
    assert logins(logs) == ["first use", "token rejected"]


def test_a_fixed_token_revoked_mid_life_is_an_auth_error(
    openbao: OpenBaoDevServer, kv_prefix: str, clock: FakeClock[float]
) -> None:
    token = openbao.create_token(["default"])
    kv = KvStore(VaultSession(address=openbao.address, auth=TokenAuth(token), clock=clock))
    kv.session.client()

    openbao.revoke_token(token)
    with pytest.raises(VaultAuthError, match="invalid, expired or revoked"):
        kv.read(f"{kv_prefix}/app")


def test_session_logs_hold_no_token_or_credential(
    openbao: OpenBaoDevServer, kv_prefix: str, clock: FakeClock[float], logs: LogList
) -> None:
    grant(openbao, f"{kv_prefix}-rw", {f"secret/data/{kv_prefix}/*": ["read", "create", "update"]})
    creds = openbao.create_approle(kv_prefix, [f"{kv_prefix}-rw"], ttl="60s")
    session = VaultSession(address=openbao.address, auth=AppRoleAuth(creds.role_id, creds.secret_id), clock=clock)
    tokens = [session.client().token]
    clock.advance(50)
    tokens.append(session.client().token)
    openbao.revoke_token(tokens[-1])
    KvStore(session).read(f"{kv_prefix}/app")
    tokens.append(session.client().token)

    assert len(set(tokens)) == 2  # renewed once, then replaced after the revocation
    assert_no_secrets(repr(logs) + repr(session), known=[*tokens, creds.secret_id, creds.role_id])


def test_skip_verify_logs_a_loud_warning(openbao: OpenBaoDevServer, logs: LogList) -> None:
    VaultSession(address=openbao.address, auth=TokenAuth(openbao.root_token), skip_verify=True)

    warnings = [entry for entry in logs if entry["event"] == "vault.tls_verification_disabled"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["address"] == openbao.address


@pytest.mark.usefixtures("fake_hvac")
def test_tls_namespace_and_timeout_settings_reach_hvac(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = tmp_path / "ca.pem"
    auth = TokenAuth("t")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)

    verified = VaultSession(address="https://vault.example:8200", auth=auth, ca_cert=ca, namespace="team")
    unverified = VaultSession(address="https://vault.example:8200", auth=auth, skip_verify=True)
    default = VaultSession(address="https://vault.example:8200/", auth=auth, timeout=3.5)

    assert verified._client.kwargs["verify"] == str(ca)
    assert verified._client.kwargs["namespace"] == "team"
    assert unverified._client.kwargs["verify"] is False
    assert default._client.kwargs == {
        "url": "https://vault.example:8200",
        "token": "",
        "verify": True,
        "timeout": 3.5,
        "namespace": None,
    }
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))  # what requests would read at each call, read at start
    assert VaultSession(address="https://vault.example:8200", auth=auth)._client.kwargs["verify"] == str(ca)


def test_the_environment_token_is_never_picked_up(openbao: OpenBaoDevServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    session = VaultSession(address=openbao.address, auth=TokenAuth("s.not-the-environment-token"))

    assert session._client.token == ""


def test_an_unreachable_vault_is_unavailable(unused_port: int) -> None:
    session = VaultSession(address=f"http://127.0.0.1:{unused_port}", auth=TokenAuth("t"), timeout=2)

    with pytest.raises(VaultUnavailableError, match="cannot connect to Vault") as caught:
        KvStore(session).read("app")
    health = session.health()

    assert caught.value.transient
    assert not health
    assert not health.reachable
    assert "cannot connect" in health.detail


def test_health_is_ok_for_a_working_session(openbao_session: VaultSession) -> None:
    health = openbao_session.health()

    assert health.ok
    assert health.detail == ""


def test_health_reports_a_token_that_does_not_work(openbao: OpenBaoDevServer) -> None:
    token = openbao.create_token(["default"])
    openbao.revoke_token(token)

    health = VaultSession(address=openbao.address, auth=TokenAuth(token)).health()

    assert health.reachable
    assert not health.sealed
    assert not health.token_valid
    assert "invalid, expired or revoked" in health.detail


def test_namespaces_are_sent_with_every_request(openbao: OpenBaoDevServer, kv_prefix: str) -> None:
    namespace = f"ns-{uuid.uuid4().hex[:8]}"
    openbao.root_client().adapter.post(f"/v1/sys/namespaces/{namespace}")
    hvac.Client(url=openbao.address, token=openbao.root_token, namespace=namespace).sys.enable_secrets_engine(
        "kv", path="secret", options={"version": "2"}
    )
    inside = KvStore(VaultSession(address=openbao.address, auth=TokenAuth(openbao.root_token), namespace=namespace))
    outside = KvStore(VaultSession(address=openbao.address, auth=TokenAuth(openbao.root_token)))

    inside.write(f"{kv_prefix}/app", {"v": "one"}, cas=0)

    assert inside.read(f"{kv_prefix}/app") is not None
    assert outside.read(f"{kv_prefix}/app") is None


@pytest.fixture
def sealable_openbao() -> Iterator[OpenBaoDevServer]:
    """A dev server of this test's own, to seal without breaking the shared one."""
    with OpenBaoDevServer(bao_path=require_bao()) as server:
        yield server


def test_a_sealed_vault_raises_sealed_errors(sealable_openbao: OpenBaoDevServer) -> None:
    session = VaultSession(address=sealable_openbao.address, auth=TokenAuth(sealable_openbao.root_token))
    kv = KvStore(session)
    kv.write("app", {"v": "one"}, cas=0)

    sealable_openbao.seal()
    with pytest.raises(VaultSealedError, match="Vault is sealed: read secret/data/app") as caught:
        kv.read("app")
    health = session.health()

    assert caught.value.status == 503
    assert caught.value.transient
    assert health.reachable
    assert health.sealed
    assert not health


# ── unit: renewal decisions with a fake hvac client ─────────────────────────────────────────────────────


class FakeTokenApi:
    def __init__(self) -> None:
        self.renewals: list[dict[str, Any] | Exception] = []
        self.renew_calls = 0

    def renew_self(self) -> dict[str, Any]:
        self.renew_calls += 1
        outcome = self.renewals.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class FakeAdapter:
    def __init__(self) -> None:
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()


class FakeHvacClient:
    """What VaultSession touches of hvac.Client: the token, renew-self, the adapter."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.token = kwargs["token"]
        self.auth = SimpleNamespace(token=FakeTokenApi())
        self.adapter = FakeAdapter()


class CountingAuth:
    description = "counting"

    def __init__(self, ttl: int = 300, renewable: bool = True) -> None:
        self.ttl = ttl
        self.renewable = renewable
        self.count = 0

    def login(self, client: HvacClient) -> LoginResult:
        self.count += 1
        return LoginResult(f"s.fake-{self.count}", self.ttl, self.renewable)


@pytest.fixture
def fake_hvac(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hvac, "Client", FakeHvacClient)


def renewal(ttl: int, renewable: bool = True) -> dict[str, Any]:
    return {"auth": {"client_token": "s.same", "lease_duration": ttl, "renewable": renewable}}


@pytest.mark.usefixtures("fake_hvac")
def test_a_renewal_capped_by_max_ttl_leads_to_a_fresh_login(clock: FakeClock[float], logs: LogList) -> None:
    auth = CountingAuth(ttl=300)
    session = VaultSession(address="http://vault:8200", auth=auth, clock=clock)
    session.client().auth.token.renewals.append(renewal(50))  # 50 s is under a third of 300: capped

    clock.advance(250)
    client = session.client()

    assert auth.count == 2
    assert client.token == "s.fake-2"
    assert logins(logs) == ["first use", "token at its max TTL"]


@pytest.mark.usefixtures("fake_hvac")
def test_a_renewal_that_extends_keeps_the_token(clock: FakeClock[float]) -> None:
    auth = CountingAuth(ttl=300)
    session = VaultSession(address="http://vault:8200", auth=auth, clock=clock)
    session.client().auth.token.renewals.append(renewal(300))

    clock.advance(250)
    client = session.client()
    clock.advance(150)  # 150 of 300 s left since the renewal: nothing to do
    client = session.client()

    assert auth.count == 1
    assert client.auth.token.renew_calls == 1
    assert client.token == "s.fake-1"


@pytest.mark.usefixtures("fake_hvac")
def test_a_renewal_while_vault_is_down_raises_instead_of_logging_in(clock: FakeClock[float]) -> None:
    auth = CountingAuth(ttl=300)
    session = VaultSession(address="http://vault:8200", auth=auth, clock=clock)
    session.client().auth.token.renewals.append(requests.exceptions.ConnectionError("Connection refused"))

    clock.advance(250)
    with pytest.raises(VaultUnavailableError, match="renew token auth/token/renew-self"):
        session.client()

    assert auth.count == 1


@pytest.mark.usefixtures("fake_hvac")
def test_a_refused_renewal_logs_in_again(clock: FakeClock[float], logs: LogList) -> None:
    auth = CountingAuth(ttl=300)
    session = VaultSession(address="http://vault:8200", auth=auth, clock=clock)
    session.client().auth.token.renewals.append(
        hvac.exceptions.InvalidRequest(errors=["lease is not renewable"], method="put", url="u")
    )

    clock.advance(250)
    client = session.client()

    assert client.token == "s.fake-2"
    assert "vault.token_renewal_failed" in events(logs)


def test_health_of_something_that_is_not_vault_says_so(sandbox: SandboxServer) -> None:
    health = VaultSession(address=sandbox.url, auth=TokenAuth("t")).health()

    assert not health
    assert health.reachable
    assert "unexpected answer" in health.detail


def test_proxy_and_ca_variables_are_read_once_at_start(
    openbao: OpenBaoDevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests reads them again on every call, a third of each call's CPU; a proxy set at start still applies."""
    import http.server
    import threading

    seen: list[str] = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)  # a proxied request names the whole URL
            self.send_response(502)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        session = VaultSession(address=openbao.address, auth=TokenAuth(openbao.root_token))
        monkeypatch.delenv("HTTP_PROXY")  # read at start: the session goes on using the proxy
        with pytest.raises(VaultUnavailableError, match="bad gateway"):
            session.client()
        assert seen and seen[0].startswith(openbao.address)
    finally:
        proxy.shutdown()
        proxy.server_close()

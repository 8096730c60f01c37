"""The Alertmanager sink behind auth, as it often is in production: extra headers (a Mimir tenant), a bearer
token, and a real Alertmanager serving https with a private CA and basic auth (its --web.config.file)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import bcrypt
import httpx
import pytest

from rotator.alerts.dispatch import Dispatcher, SinkWork
from rotator.bootstrap.sinks import build_sinks
from rotator.config import AlertsSettings, ConfigError
from rotator.secrets import SecretResolver
from tests.support.alertmanager import NULL_ROUTE, find_alertmanager
from tests.support.alerts import key_alert, trigger
from tests.support.dependencies import skip_or_fail
from tests.support.network import free_port
from tests.support.receivers import Receiver
from tests.support.secrets_scan import assert_no_secrets
from tests.support.served import served

BEARER = "am-bearer-token-0123456789abcdef"
PASSWORD = "am-basic-password-0123456789"


def build(sink: Mapping[str, object], secrets: dict[str, str]) -> Dispatcher:
    return build_sinks(AlertsSettings.model_validate({"sinks": [sink]}), SecretResolver(secrets))


def post(dispatcher: Dispatcher, alert_id: str | None = None) -> tuple[bool, str | None]:
    alert = key_alert(alert_id=alert_id)
    with dispatcher:
        (delivery,) = [
            d
            for d in dispatcher.dispatch({"alertmanager": SinkWork([trigger(alert)], [alert])}, datetime.now(UTC))
            if d.sink == "alertmanager"
        ]
    return delivery.ok, delivery.error


def test_headers_and_a_bearer_token_go_with_every_post(receiver: Receiver) -> None:
    sink = {
        "type": "alertmanager",
        "url": receiver.url,
        "headers": {"X-Scope-OrgID": "team-platform"},
        "bearer_token": {"env": "AM_TOKEN"},
    }
    dispatcher = build(sink, {"AM_TOKEN": BEARER})
    assert_no_secrets(repr(dispatcher), [BEARER])
    ok, _ = post(dispatcher)
    assert ok
    (request,) = receiver.requests
    assert request.headers["X-Scope-OrgID"] == "team-platform"
    assert request.headers["Authorization"] == f"Bearer {BEARER}"


@dataclass(frozen=True)
class SecuredAlertmanager:
    url: str
    ca_file: Path


@pytest.fixture(scope="module")
def secured_alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredAlertmanager]:
    binary = find_alertmanager()
    openssl = shutil.which("openssl")
    if binary is None or openssl is None:
        skip_or_fail("Alertmanager or openssl is missing: apt-get install prometheus-alertmanager openssl")
    assert binary is not None and openssl is not None
    workdir = tmp_path_factory.mktemp("secured-alertmanager")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    (workdir / "web.yml").write_text(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\nbasic_auth_users:\n  rotator: '{hashed}'\n"
    )
    (workdir / "alertmanager.yml").write_text(NULL_ROUTE)
    port = free_port()
    argv = [
        binary,
        f"--config.file={workdir / 'alertmanager.yml'}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.config.file={workdir / 'web.yml'}",
        "--cluster.listen-address=",
    ]
    url = f"https://127.0.0.1:{port}"
    trust = ssl.create_default_context(cafile=cert)
    log_path = workdir / "alertmanager.log"
    with served(argv, url=url, log_path=log_path, what="Alertmanager", verify=trust, auth=("rotator", PASSWORD)):
        yield SecuredAlertmanager(url, cert)


def _sink(server: SecuredAlertmanager, **extra: object) -> dict[str, object]:
    return {"type": "alertmanager", "url": server.url, "timeout": "3s", **extra}


AUTH = {"basic_auth": {"username": "rotator", "password": {"env": "AM_PASSWORD"}}}


@pytest.mark.integration
def test_a_real_alertmanager_over_https_with_a_private_ca_and_basic_auth(
    secured_alertmanager: SecuredAlertmanager,
) -> None:
    alert_id = f"key-expiry:prod-us:auth-{time.time_ns()}"
    ok, error = post(build(_sink(secured_alertmanager, ca_file=str(secured_alertmanager.ca_file), **AUTH), {
        "AM_PASSWORD": PASSWORD
    }), alert_id)  # fmt: skip
    assert ok, error
    active = httpx.get(
        f"{secured_alertmanager.url}/api/v2/alerts",
        verify=ssl.create_default_context(cafile=secured_alertmanager.ca_file),
        auth=("rotator", PASSWORD),
        params={"filter": f'alert_id="{alert_id}"'},
    ).json()
    assert [a["labels"]["alert_id"] for a in active] == [alert_id]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("extra", "secrets", "expected"),
    [
        ({**AUTH}, {"AM_PASSWORD": PASSWORD}, "certificate verify failed"),
        ({**AUTH}, {"AM_PASSWORD": "wrong-pass-1"}, "401"),
        ({}, {}, "401"),
    ],
    ids=["no-ca-file", "wrong-password", "no-auth"],
)  # fmt: skip
def test_a_refused_connection_is_a_clear_failure_that_shows_no_secret(
    secured_alertmanager: SecuredAlertmanager,
    extra: dict[str, object],
    secrets: dict[str, str],
    expected: str,
) -> None:
    if expected == "401":
        extra = {**extra, "ca_file": str(secured_alertmanager.ca_file)}
    ok, error = post(build(_sink(secured_alertmanager, **extra), secrets))
    assert not ok
    assert error is not None and expected in error
    assert_no_secrets(error, [PASSWORD, "wrong-pass-1"])


def test_an_unreadable_ca_file_is_a_config_error_naming_the_field(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigError) as raised:
        build({"type": "alertmanager", "url": "https://am.example", "ca_file": str(missing)}, {})
    assert raised.value.problems == [
        f"alerts.sinks[0].ca_file: cannot use {missing} as a CA bundle: No such file or directory"
    ]

"""`/readyz`: a success is cached briefly (a probe storm must not become Vault load), a failure never is, so a
daemon that became ready says so at the next probe; and a lease Vault cannot be asked about is "unknown", not
"standby" (which would claim another process holds it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry

from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.bootstrap import build_services
from rotator.config import Settings
from rotator.cycle import Rotator
from rotator.daemon import Daemon
from rotator.http_server import Check, StatusServer
from rotator.metrics import Metrics
from rotator.vault.kv import KvStore

KEY_ID = str(uuid.uuid4())


@pytest.fixture
def probed() -> Iterator[tuple[StatusServer, list[bool]]]:
    """A status server whose readiness answers not ready, then ready; and the answers it was asked for."""
    answers = iter([False, True, True, True])
    asked: list[bool] = []

    def readiness() -> Check:
        asked.append(next(answers))
        return Check(asked[-1], {})

    server = StatusServer(
        ("127.0.0.1", 0), registry=CollectorRegistry(), liveness=lambda: Check(True, {}), readiness=readiness
    ).start()
    yield server, asked
    server.stop()


def test_a_failed_readiness_is_asked_again_at_the_next_probe(probed: tuple[StatusServer, list[bool]]) -> None:
    server, asked = probed
    with httpx.Client(base_url=server.url, timeout=5) as http:
        assert http.get("/readyz").status_code == 503
        assert http.get("/readyz").status_code == 200, "ready now: the failure was not cached"
        assert http.get("/readyz").status_code == 200
    assert asked == [False, True], "the success is cached: the third probe asked nothing"


def daemon_on(vault_address: str, kv_prefix: str, environ: dict[str, str]) -> Daemon:
    settings = Settings.model_validate(
        {
            "orgs": [
                {
                    "name": "acme",
                    "endpoint": "http://127.0.0.1:9",
                    "organization_id": str(uuid.uuid4()),
                    "api_key": {"env": "UNIT_ADMIN"},
                }
            ],
            "vault": {
                "address": vault_address,
                "auth": {"method": "token", "token": {"env": "UNIT_TOKEN"}},
                "state_prefix": f"{kv_prefix}/state",
                "timeout": "2s",
            },
            "managed": [
                {"name": "chatbot", "org": "acme", "path": f"{kv_prefix}/chatbot", "adopt": {"key_id": KEY_ID}}
            ],
            "lease": {"ttl": "15s"},
        }
    )
    runtime = Rotator(build_services(settings, {"UNIT_ADMIN": "not-a-real-key", **environ}, metrics=Metrics()))
    return Daemon(runtime, listen=("127.0.0.1", 0))


def test_the_lease_is_unknown_while_vault_cannot_be_reached(unused_port: int, kv_prefix: str) -> None:
    daemon = daemon_on(f"http://127.0.0.1:{unused_port}", kv_prefix, {"UNIT_TOKEN": "not-a-real-token"})

    daemon._renew_lease()

    check = daemon.readiness()
    assert not check.ok
    assert check.detail["lease"] == "unknown"
    assert "cannot connect to Vault" in check.detail["vault"]


def test_the_lease_is_standby_while_another_process_holds_it(
    openbao: OpenBaoDevServer, openbao_kv: KvStore, kv_prefix: str
) -> None:
    expires_at = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    lease = {"holder": "elsewhere/1/abc", "expires_at": expires_at}
    openbao_kv.write(f"{kv_prefix}/state/leases/default", lease, cas=0)
    daemon = daemon_on(openbao.address, kv_prefix, {"UNIT_TOKEN": openbao.root_token})

    daemon._renew_lease()

    assert daemon.readiness().detail["lease"] == "standby"
    daemon.runtime.close()

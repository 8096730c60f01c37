"""SandboxServer lifecycle: loopback only, free ports, clean stops, concurrency."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from langsmith_sandbox import FaultRule, SandboxServer, SandboxState, views
from tests.support.orgs import seed_small_org

pytestmark = pytest.mark.integration


def test_port_zero_picks_a_free_port_and_urls_follow() -> None:
    with SandboxServer() as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert not server.url.endswith(":0")
        assert server.api_url == server.url + "/api/v1"
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_only_loopback_hosts_are_accepted(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(host=host)


def test_localhost_is_loopback() -> None:
    with SandboxServer(host="localhost") as server:
        assert httpx.get(server.url + "/_sandbox/clock").status_code == 200


def test_start_twice_fails_stop_twice_is_harmless_and_restart_keeps_state() -> None:
    state = SandboxState()
    org = seed_small_org(state)
    server = SandboxServer(state).start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
    finally:
        server.stop()
    server.stop()
    with server:
        response = httpx.get(server.api_url + "/orgs/current/info", headers=org.org_headers())
        assert response.status_code == 200


def test_stop_leaves_no_threads_behind_even_with_open_keep_alive_connections() -> None:
    before = set(threading.enumerate())
    state = SandboxState()
    org = seed_small_org(state)
    server = SandboxServer(state).start()
    clients = [httpx.Client(base_url=server.api_url) for _ in range(3)]
    for client in clients:
        assert client.get("/orgs/current/info", headers=org.org_headers()).status_code == 200
    server.stop()
    assert set(threading.enumerate()) - before == set()
    for client in clients:
        client.close()


def test_stop_cuts_injected_latency_short() -> None:
    state = SandboxState()
    state.faults.add(FaultRule(path="/api/v1", latency_seconds=60, times=1))
    server = SandboxServer(state).start()
    outcome: list[str] = []

    def slow_call() -> None:
        try:
            httpx.get(server.api_url + "/orgs/current/info", timeout=30)
        except httpx.HTTPError as exc:
            outcome.append(type(exc).__name__)
        else:
            outcome.append("answered")

    caller = threading.Thread(target=slow_call)
    caller.start()
    while state.faults.active():  # the rule is used up once the request is inside its latency
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    caller.join(timeout=10)
    assert not caller.is_alive()
    assert time.monotonic() - started < 10
    assert outcome


def test_concurrent_requests_are_all_served(sandbox: SandboxServer) -> None:
    org = seed_small_org(sandbox.state)

    def call(_: int) -> int:
        with httpx.Client(base_url=sandbox.api_url) as client:
            return sum(
                client.get("/orgs/current/service-keys", headers=org.org_headers()).status_code for _ in range(5)
            )

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(call, range(10))) == [1000] * 10
    assert sandbox.state.stats.total == 50


def test_an_internal_error_becomes_a_500(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    org = seed_small_org(sandbox.state)

    def broken(*_: object) -> dict[str, object]:
        raise KeyError("bug")

    monkeypatch.setattr(views, "organization_info", broken)
    response = httpx.get(sandbox.api_url + "/orgs/current/info", headers=org.org_headers())
    assert (response.status_code, response.json()) == (500, {"detail": "Internal Server Error"})

"""The sandbox on one asyncio event loop (``AsyncioSandboxServer``, ``serve --io asyncio``): the same API, faults,
rate limit and counters as ``SandboxServer``, over real HTTP, for many connections at once."""

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from langsmith_sandbox import AsyncioSandboxServer, FaultRule, RateLimitSettings, SandboxState
from tests.sandbox.test_sandbox_cli import read_env, wait_for
from tests.support.orgs import SmallOrg

pytestmark = pytest.mark.integration

SERVICE_KEYS = "/orgs/current/service-keys"
SERVICE_KEYS_PATH = "/api/v1" + SERVICE_KEYS


@pytest.fixture
def server(sandbox_state: SandboxState) -> Iterator[AsyncioSandboxServer]:
    with AsyncioSandboxServer(sandbox_state) as running:
        yield running


@pytest.fixture
def client(server: AsyncioSandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api_url, timeout=5) as http:
        yield http


def raw_exchange(server: AsyncioSandboxServer, request: bytes) -> bytes:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_keys_are_listed_created_and_deleted_over_one_kept_alive_connection(
    server: AsyncioSandboxServer, client: httpx.Client, small_org: SmallOrg
) -> None:
    headers = small_org.org_headers()
    created = client.post(SERVICE_KEYS, headers=headers, json={"description": "new", "workspaces": None})
    assert created.status_code == 200
    assert created.json()["key"].startswith("lsv2_sk_")
    listed = client.get(SERVICE_KEYS, headers=headers).json()
    assert {key["id"] for key in listed} == {small_org.admin.id, created.json()["id"]}
    assert client.delete(f"{SERVICE_KEYS}/{created.json()['id']}", headers=headers).status_code == 200
    assert client.get(SERVICE_KEYS, headers=headers).json()[0]["id"] == small_org.admin.id
    assert server.state.stats.snapshot()["by_status"] == {"200": 4}


def test_errors_are_the_apis_own(client: httpx.Client, small_org: SmallOrg) -> None:
    assert client.get(SERVICE_KEYS).status_code == 401
    assert client.get("/nowhere", headers=small_org.org_headers()).status_code == 404
    assert client.put(SERVICE_KEYS, headers=small_org.org_headers()).status_code == 405


def test_latency_delays_and_stopping_cuts_it_short(sandbox_state: SandboxState, small_org: SmallOrg) -> None:
    server = AsyncioSandboxServer(sandbox_state).start()
    try:
        server.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, latency_seconds=0.2, times=1))
        started = time.monotonic()
        assert httpx.get(server.api_url + SERVICE_KEYS, headers=small_org.org_headers()).status_code == 200
        assert time.monotonic() - started >= 0.2
        server.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, latency_seconds=30))
        outcome: list[BaseException] = []

        def slow() -> None:
            try:
                httpx.get(server.api_url + SERVICE_KEYS, headers=small_org.org_headers(), timeout=20)
            except httpx.HTTPError as error:
                outcome.append(error)

        waiting = threading.Thread(target=slow)
        waiting.start()
        time.sleep(0.2)
    finally:
        stopping = time.monotonic()
        server.stop()
    waiting.join(10)
    assert time.monotonic() - stopping < 5, "stop() waited out the injected latency"
    assert outcome, "the request in flight should fail once the server stops"


def test_a_dropped_connection_gets_no_response(
    server: AsyncioSandboxServer, client: httpx.Client, small_org: SmallOrg
) -> None:
    server.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, drop_connection=True, times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(SERVICE_KEYS, headers=small_org.org_headers())
    assert client.get(SERVICE_KEYS, headers=small_org.org_headers()).status_code == 200
    assert server.state.stats.snapshot()["by_status"] == {"dropped": 1, "200": 1}


def test_replacing_faults_answer_as_they_say(
    server: AsyncioSandboxServer, client: httpx.Client, small_org: SmallOrg
) -> None:
    server.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, status=503, retry_after=4, times=1))
    server.state.faults.add(FaultRule(path=SERVICE_KEYS_PATH, malformed_body="<html>oops</html>", times=1))
    refused = client.get(SERVICE_KEYS, headers=small_org.org_headers())
    assert (refused.status_code, refused.headers["Retry-After"]) == (503, "4")
    garbled = client.get(SERVICE_KEYS, headers=small_org.org_headers())
    assert garbled.headers["Content-Type"].startswith("text/html")
    assert garbled.text == "<html>oops</html>"


def test_the_rate_limit_answers_429_with_retry_after(
    server: AsyncioSandboxServer, client: httpx.Client, small_org: SmallOrg
) -> None:
    server.state.rate_limit.configure(RateLimitSettings(2))
    statuses = [client.get(SERVICE_KEYS, headers=small_org.org_headers()) for _ in range(3)]
    assert [response.status_code for response in statuses] == [200, 200, 429]
    assert 1 <= int(statuses[2].headers["Retry-After"]) <= 60


def test_the_control_api_answers(server: AsyncioSandboxServer) -> None:
    with httpx.Client(base_url=server.url + "/_sandbox", timeout=5) as control:
        assert control.get("/clock").json()["frozen"] is True
        assert control.post("/rate-limit", json={"requests_per_minute": 5}).json()["limit"] == 5
        assert control.get("/requests").json()["total"] == 0


def test_many_connections_at_once_are_all_answered(server: AsyncioSandboxServer, small_org: SmallOrg) -> None:
    server.state.faults.add(FaultRule(path="/api/v1/", latency_seconds=0.3))

    def one(_: int) -> int:
        with httpx.Client(timeout=20) as http:
            return http.get(server.api_url + SERVICE_KEYS, headers=small_org.org_headers()).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=150) as pool:
        statuses = list(pool.map(one, range(150)))
    assert statuses == [200] * 150
    assert time.monotonic() - started < 0.3 * 150 / 4, "the delays should overlap, not add up"


def test_the_first_of_repeated_headers_wins(server: AsyncioSandboxServer, small_org: SmallOrg) -> None:
    request = (
        f"GET {SERVICE_KEYS_PATH} HTTP/1.1\r\nHost: x\r\nX-API-Key: {small_org.admin.secret}\r\n"
        f"X-API-Key: lsv2_sk_nothing\r\nX-Organization-Id: {small_org.org_id}\r\nConnection: close\r\n\r\n"
    )
    answer = raw_exchange(server, request.encode())
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close" in answer


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET /api/v1/orgs HTTP/1.1\r\nbroken header\r\n\r\n", b"400"),
        (b"GET /x HTTP/1.1\r\nContent-Length: many\r\n\r\n", b"400"),
        (b"OPTIONS /api/v1/orgs HTTP/1.1\r\nConnection: close\r\n\r\n", b"501"),
    ],
)
def test_bad_requests_get_an_http_error(server: AsyncioSandboxServer, request_bytes: bytes, status: bytes) -> None:
    assert raw_exchange(server, request_bytes).startswith(b"HTTP/1.1 " + status)


def test_a_busy_port_is_an_os_error(server: AsyncioSandboxServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with pytest.raises(OSError, match="in use"):
        AsyncioSandboxServer(port=port).start()


def test_it_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        AsyncioSandboxServer(host="0.0.0.0")


def test_serve_with_asyncio_io_serves_the_api(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    command = [sys.executable, "-m", "langsmith_sandbox", "serve", "--io", "asyncio", "--seed", "demo"]
    process = subprocess.Popen(
        [*command, "--env-file", str(env_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(env_file, process)
        env = read_env(env_file)
        headers = {"X-API-Key": env["LANGSMITH_API_KEY"], "X-Organization-Id": env["LANGSMITH_ORGANIZATION_ID"]}
        assert len(httpx.get(env["LANGSMITH_ENDPOINT"] + SERVICE_KEYS_PATH, headers=headers).json()) == 8
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr

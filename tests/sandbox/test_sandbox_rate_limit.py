"""The per-API-key rate limit: the sliding window itself on a fake clock (unit), then 429s with Retry-After over
HTTP, its control API and the serve flag (integration); and the request counters' reset."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from langsmith_sandbox import RateLimiter, RateLimitSettings, SandboxServer, SandboxState
from langsmith_sandbox.cli import main
from tests.sandbox.test_sandbox_cli import read_env, wait_for
from tests.support.orgs import ORG_ADMIN_ROLE, SmallOrg

SERVICE_KEYS = "/orgs/current/service-keys"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def limiter(clock: FakeClock, requests_per_minute: int = 3, window_seconds: float = 60.0) -> RateLimiter:
    return RateLimiter(RateLimitSettings(requests_per_minute, window_seconds), clock=clock)


def test_a_key_gets_its_limit_in_a_window_then_waits_for_the_oldest_request_to_leave_it(clock: FakeClock) -> None:
    limit = limiter(clock)
    for step in (0.0, 10.0, 5.0):
        clock.now += step
        assert limit.take("key-a") is None
    clock.now += 5.0  # 20 s after the first request, which leaves the window 40 s from now
    refusal = limit.take("key-a")
    assert refusal is not None
    assert refusal.wait_seconds == pytest.approx(40.0)
    assert refusal.retry_after == 40
    clock.now += 39.5
    assert limit.take("key-a") is not None, "the slot frees only when the oldest request is a full window old"
    clock.now += 0.5
    assert limit.take("key-a") is None
    refusal = limit.take("key-a")
    assert refusal is not None
    assert refusal.wait_seconds == pytest.approx(10.0), "next to leave: the request sent at +10 s"


def test_refused_requests_take_no_slot(clock: FakeClock) -> None:
    limit = limiter(clock, requests_per_minute=1)
    assert limit.take("k") is None
    for _ in range(5):
        clock.now += 10
        assert limit.take("k") is not None
    clock.now += 10  # 60 s after the one admitted request: the refusals did not push its slot back
    assert limit.take("k") is None
    assert limit.snapshot() == {
        "enabled": True,
        "requests_per_minute": 1,
        "window_seconds": 60.0,
        "limit": 1,
        "admitted": 2,
        "refused": 5,
    }


def test_each_key_has_its_own_window(clock: FakeClock) -> None:
    limit = limiter(clock, requests_per_minute=1)
    assert limit.take("key-a") is None
    assert limit.take("key-b") is None
    assert limit.take("key-a") is not None
    assert limit.take("key-b") is not None


def test_it_is_off_by_default_and_never_limits_requests_without_a_key(clock: FakeClock) -> None:
    off = RateLimiter(clock=clock)
    assert all(off.take("k") is None for _ in range(1000))
    assert off.snapshot() == {"enabled": False, "admitted": 0, "refused": 0}
    limit = limiter(clock, requests_per_minute=1)
    assert all(limit.take(None) is None and limit.take("") is None for _ in range(10))


def test_configuring_replaces_the_limit_and_forgets_the_windows(clock: FakeClock) -> None:
    limit = limiter(clock, requests_per_minute=1)
    assert limit.take("k") is None
    assert limit.take("k") is not None
    limit.configure(RateLimitSettings(2))
    assert limit.take("k") is None
    assert limit.take("k") is None
    assert limit.take("k") is not None
    limit.configure(None)
    assert limit.settings is None
    assert limit.take("k") is None


def test_a_short_window_admits_its_share_of_the_rate(clock: FakeClock) -> None:
    settings = RateLimitSettings(600, window_seconds=1.5)
    assert settings.limit == 15
    limit = RateLimiter(settings, clock=clock)
    assert [limit.take("k") is None for _ in range(16)] == [True] * 15 + [False]


def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one(clock: FakeClock) -> None:
    limit = limiter(clock, requests_per_minute=1)
    limit.take("k")
    clock.now += 59.75
    refusal = limit.take("k")
    assert refusal is not None
    assert refusal.retry_after == 1
    assert refusal.wait_seconds == pytest.approx(0.25)
    clock.now -= 19.5
    refusal = limit.take("k")
    assert refusal is not None
    assert refusal.retry_after == 20
    body = refusal.body()
    assert body["retry_after_seconds"] == 19.75
    assert (body["limit"], body["window_seconds"]) == (1, 60.0)
    assert "retry in 20 s" in str(body["detail"])


@pytest.mark.parametrize(
    ("requests_per_minute", "window_seconds", "problem"),
    [
        (0, 60.0, "at least 1"),
        (True, 60.0, "whole number"),
        (1.5, 60.0, "whole number"),
        (60, 0.0, "more than 0"),
        (60, 7200.0, "at most 3600"),
        (60, float("nan"), "more than 0"),
        (1, 30.0, "too short"),
    ],
)
def test_invalid_settings_are_refused_with_a_reason(
    requests_per_minute: int, window_seconds: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        RateLimitSettings(requests_per_minute, window_seconds)


def test_the_limiter_never_keeps_a_secret(clock: FakeClock) -> None:
    limit = limiter(clock)
    secret = "lsv2_sk_" + "a" * 32 + "_" + "b" * 10
    limit.take(secret)
    assert secret not in repr(vars(limit))


# ── over HTTP ───────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def limited(sandbox: SandboxServer, clock: FakeClock) -> RateLimiter:
    """Two requests per key in any minute, on the fake clock."""
    sandbox.state.rate_limit = limiter(clock, requests_per_minute=2)
    return sandbox.state.rate_limit


@pytest.fixture
def control(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url + "/_sandbox", timeout=5) as client:
        yield client


@pytest.mark.integration
@pytest.mark.usefixtures("limited")
def test_a_key_over_its_limit_gets_429_with_retry_after_and_nothing_reaches_the_api(
    sandbox: SandboxServer, sandbox_client: httpx.Client, small_org: SmallOrg, clock: FakeClock
) -> None:
    responses = []
    for _ in range(3):
        responses.append(sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()))
        clock.now += 15
    assert [r.status_code for r in responses] == [200, 200, 429]
    refused = responses[2]
    assert refused.headers["Retry-After"] == "30"
    assert refused.json()["detail"].startswith("Rate limit exceeded: 2 requests per 60 seconds per API key")
    assert refused.json()["retry_after_seconds"] == 30.0
    admin = sandbox.state.key(small_org.admin.id)
    assert admin is not None
    assert sum(admin.requests.values()) == 2, "the refused request never reached the API"
    assert sandbox.state.stats.snapshot()["by_status"] == {"200": 2, "429": 1}


@pytest.mark.integration
@pytest.mark.usefixtures("limited")
def test_another_key_is_not_held_back_by_a_busy_one(
    sandbox: SandboxServer, sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    other = sandbox.state.add_service_key(small_org.org_id, org_role_id=ORG_ADMIN_ROLE)
    for _ in range(3):
        sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers())
    assert sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers(other.secret)).status_code == 200


@pytest.mark.integration
@pytest.mark.usefixtures("limited")
def test_the_control_api_is_never_limited(control: httpx.Client) -> None:
    assert all(control.get("/clock").status_code == 200 for _ in range(5))


@pytest.mark.integration
def test_the_rate_limit_is_set_read_and_cleared_through_the_control_api(
    control: httpx.Client, sandbox_client: httpx.Client, small_org: SmallOrg
) -> None:
    assert control.get("/rate-limit").json() == {"enabled": False, "admitted": 0, "refused": 0}
    configured = control.post("/rate-limit", json={"requests_per_minute": 1})
    assert configured.status_code == 200
    assert configured.json()["limit"] == 1
    statuses = [sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).status_code for _ in range(2)]
    assert statuses == [200, 429]
    assert control.get("/rate-limit").json() == {
        "enabled": True,
        "requests_per_minute": 1,
        "window_seconds": 60.0,
        "limit": 1,
        "admitted": 1,
        "refused": 1,
    }
    assert control.delete("/rate-limit").json()["enabled"] is False
    assert sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers()).status_code == 200


@pytest.mark.integration
@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b"[]",
        b'{"requests_per_minute": 0}',
        b'{"requests_per_minute": "60"}',
        b'{"requests_per_minute": 60, "window_seconds": -1}',
        b'{"requests_per_minute": 60, "burst": 2}',
    ],
)
def test_bad_rate_limits_get_400(control: httpx.Client, body: bytes) -> None:
    response = control.post("/rate-limit", content=body)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert control.get("/rate-limit").json()["enabled"] is False


@pytest.mark.integration
def test_request_counts_can_be_reset(control: httpx.Client, sandbox_client: httpx.Client, small_org: SmallOrg) -> None:
    sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers())
    assert control.get("/requests").json()["total"] == 1
    assert control.delete("/requests").json() == {"total": 0, "by_route": {}, "by_status": {}}
    sandbox_client.get(SERVICE_KEYS, headers=small_org.org_headers())
    assert control.get("/requests").json()["by_status"] == {"200": 1}


def test_keys_of_an_org_are_its_keys_in_creation_order(sandbox_state: SandboxState) -> None:
    orgs = [sandbox_state.add_org(name).id for name in ("a", "b")]
    for index in range(6):
        sandbox_state.add_service_key(orgs[index % 2])
    for org_id in orgs:
        expected = [key for key in sandbox_state.all_keys() if key.organization_id == org_id]
        assert sandbox_state.keys_of(org_id) == expected
    assert sandbox_state.keys_of("no such org") == []


# ── the serve flag ──────────────────────────────────────────────────────────────────────────────────────


def test_a_rate_limit_below_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--rate-limit", "0"])
    assert exited.value.code == 2
    assert "--rate-limit" in capsys.readouterr().err


@pytest.mark.integration
def test_serve_with_a_rate_limit_starts_limited(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    command = [sys.executable, "-m", "langsmith_sandbox", "serve", "--rate-limit", "90", "--env-file", str(env_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(env_file, process)
        endpoint = read_env(env_file)["LANGSMITH_ENDPOINT"]
        assert httpx.get(endpoint + "/_sandbox/rate-limit").json()["requests_per_minute"] == 90
    finally:
        process.terminate()
        process.communicate(timeout=10)

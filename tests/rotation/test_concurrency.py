"""A cycle's sagas run at once, within ``concurrency.rotations``, and share what does not change while keys
rotate: each org's info, workspaces and roles are read once per cycle, however many of its keys rotate."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from langsmith_sandbox import FaultRule
from langsmith_sandbox.rate_limit import RateLimitSettings
from rotator.bootstrap import build_services
from rotator.bootstrap.langsmith import client_factory
from rotator.config import Settings
from rotator.cycle import Rotator
from rotator.langsmith import LangSmithClient
from rotator.langsmith.budget import RequestBudget
from rotator.rotation import Result
from tests.support.rotation_world import EDITOR_ROLE, World, assert_i1

NAMES = ("bot-a", "bot-b", "bot-c", "bot-d")
SHARED_READS = ("/info", "/workspaces", "/roles")


def routes(world: World) -> dict[str, int]:
    by_route = world.state.stats.snapshot()["by_route"]
    assert isinstance(by_route, dict)
    return dict(by_route)


def runtime(world: World, managed: list[dict[str, Any]], **concurrency: int) -> Rotator:
    config = world.config(*managed) | {"concurrency": concurrency}
    rotator = Rotator(build_services(Settings.model_validate(config), world.credentials(), now=world.state.clock.now))
    world._runtimes.append(rotator)
    return rotator


def workspace_keys(world: World) -> list[dict[str, Any]]:
    return [
        world.managed(
            name,
            key=world.managed_key(name, description=name, workspace_ids=[world.production_id], role_id=EDITOR_ROLE),
        )
        for name in NAMES
    ]


def test_a_cycle_reads_an_org_s_info_workspaces_and_roles_once_however_many_keys_rotate(world: World) -> None:
    rotator = runtime(world, workspace_keys(world))
    before = routes(world)
    outcomes = rotator.run_cycle().outcomes
    assert [outcome.result for outcome in outcomes] == [Result.ROTATED] * len(NAMES)
    after = routes(world)
    reads = {route: after[route] - before.get(route, 0) for route in after if route.endswith(SHARED_READS)}
    assert reads and set(reads.values()) == {1}, reads
    for name in NAMES:
        assert_i1(world, name)


def test_rotations_run_at_once_but_never_more_than_configured(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each create waits until another is in flight: sequential sagas would never meet."""
    meet = threading.Barrier(2, timeout=10)
    lock = threading.Lock()
    in_flight, most = [0], [0]
    real_create = LangSmithClient.create_org_service_key

    def create(client: LangSmithClient, **options: Any) -> Any:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        try:
            meet.wait()
            return real_create(client, **options)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(LangSmithClient, "create_org_service_key", create)
    outcomes = runtime(world, workspace_keys(world), rotations=2).run_cycle().outcomes
    assert [outcome.result for outcome in outcomes] == [Result.ROTATED] * len(NAMES)
    assert most[0] == 2


def test_one_secret_s_failure_does_not_stop_the_others_running_beside_it(world: World) -> None:
    managed = workspace_keys(world)
    world.state.faults.add(FaultRule(path="/api/v1/orgs/current/service-keys", method="POST", status=400, times=1))
    outcomes = runtime(world, managed, rotations=4).run_cycle().outcomes
    results = sorted(outcome.result.value for outcome in outcomes)
    assert results == sorted([Result.FAILED.value] + [Result.ROTATED.value] * (len(NAMES) - 1))


def test_an_org_s_listings_and_roles_are_sent_at_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of the three reads waits until the other two are in flight: one after another they never meet."""
    meet = threading.Barrier(3, timeout=10)
    for name in ("list_org_service_keys", "list_personal_access_tokens", "list_roles"):
        real = getattr(LangSmithClient, name)

        def meeting(client: LangSmithClient, real: Any = real) -> Any:
            meet.wait()
            return real(client)

        monkeypatch.setattr(LangSmithClient, name, meeting)
    report = runtime(world, []).check()
    assert not report.failed_orgs
    assert meet.n_waiting == 0 and not meet.broken


def test_a_retry_after_longer_than_the_retry_time_is_waited_out_not_given_up(world: World) -> None:
    """LangSmith's own Retry-After (about a minute) used to exceed ``http.max_retry_time`` and fail the org at once;
    the admin key's budget now holds every request of the key until then, and that wait is pacing, not retrying."""
    world.state.faults.add(
        FaultRule(path="/api/v1/orgs/current/service-keys", method="GET", status=429, retry_after=2, times=1)
    )
    config = world.config(http={"timeout": "2s", "max_attempts": 3, "max_retry_time": "1s"})
    rotator = Rotator(build_services(Settings.model_validate(config), world.credentials(), now=world.state.clock.now))
    report = rotator.check()
    assert not report.failed_orgs
    assert world.state.stats.snapshot()["by_status"] == {"429": 1, "200": 3}


def test_org_entries_sharing_an_admin_key_pace_themselves_under_langsmith_s_limit(world: World) -> None:
    """25 entries of one key, 75 requests at once, against a limit of 60 in any 3 s (LangSmith's minute, shrunk):
    one budget of 40 per 3 s for all of them lets 40 go at once and the rest a window (and its margin) later,
    where each entry sending on its own used to collect 429s."""
    world.state.rate_limit.configure(RateLimitSettings(requests_per_minute=1200, window_seconds=3))
    config = world.config(http={"timeout": "5s", "max_attempts": 5, "max_retry_time": "60s"})
    [org] = config["orgs"]
    config["orgs"] = [org | {"name": f"entry-{n}"} for n in range(25)]
    settings = Settings.model_validate(config)
    services = build_services(settings, world.credentials(), now=world.state.clock.now)
    shared = RequestBudget(40, window_seconds=3)
    budgets = {entry.name: shared for entry in settings.orgs}
    build = client_factory(settings.http, services.langsmith_connections, budgets)
    before = routes_by_status(world)
    report = Rotator(replace(services, build_client=build)).check()
    after = routes_by_status(world)
    assert not report.failed_orgs
    assert after.get("200", 0) - before.get("200", 0) == 75
    assert after.get("429", 0) == before.get("429", 0), "no request was refused"


def routes_by_status(world: World) -> dict[str, int]:
    by_status = world.state.stats.snapshot()["by_status"]
    assert isinstance(by_status, dict)
    return dict(by_status)

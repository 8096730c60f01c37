"""How close one inventory poll of many orgs comes to the physical limit.

Every API request to the sandbox is delayed by a fixed latency, as a distant LangSmith region would be.
One org's poll is three sequential requests (service keys, PATs, roles); orgs are polled in parallel by a
bounded pool. The physical limit is requests x latency / concurrency, where the useful concurrency is
min(pool size, orgs) since one org's requests cannot overlap.

Run: `make bench` (or `python -m bench.poll_throughput`).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from langsmith_sandbox import FaultRule, SandboxServer, SandboxState
from langsmith_sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_ADMIN
from rotator.bootstrap import build_services
from rotator.config import Settings
from rotator.cycle import Rotator
from rotator.observability import configure_logging

REQUESTS_PER_ORG = 3
KEYS_PER_ORG = 20
POLL_CONCURRENCY = 8  # the pool size before inventory sized itself to the work; superseded by bench/


def seed(state: SandboxState, orgs: int) -> tuple[Settings, dict[str, str]]:
    now = datetime.now(UTC)
    entries, environ = [], {}
    for index in range(orgs):
        org = state.add_org(f"org-{index}")
        workspace = state.add_workspace(org.id, "production")
        admin = state.add_service_key(org.id, org_role_id=BUILTIN_BY_NAME[ORGANIZATION_ADMIN].id)
        for n in range(KEYS_PER_ORG - 1):
            state.add_service_key(org.id, workspace_ids=[workspace.id], expires_at=now + timedelta(days=n + 1))
        environ[f"KEY_{index}"] = admin.secret
        entries.append({"name": f"org-{index}", "organization_id": org.id, "api_key": {"env": f"KEY_{index}"}})
    return Settings.model_validate({"orgs": entries}), environ


def measure(orgs: int, latency: float) -> tuple[int, float, float]:
    state = SandboxState()
    settings, environ = seed(state, orgs)
    if latency:
        state.faults.add(FaultRule(path="/api/v1/", latency_seconds=latency))
    with SandboxServer(state) as server:
        settings = settings.model_copy(
            update={"orgs": [org.model_copy(update={"endpoint": server.api_url}) for org in settings.orgs]}
        )
        runtime = Rotator(build_services(settings, environ))
        started = time.perf_counter()
        report = runtime.check()
        elapsed = time.perf_counter() - started
    assert not report.failed_orgs and len(report.rows) == orgs * KEYS_PER_ORG
    requests = orgs * REQUESTS_PER_ORG
    waves = math.ceil(orgs / POLL_CONCURRENCY)
    limit = waves * REQUESTS_PER_ORG * latency
    return requests, limit, elapsed


def main() -> None:
    configure_logging("console", "warning")
    table = Table(title=f"Inventory poll: {REQUESTS_PER_ORG} requests per org, pool of {POLL_CONCURRENCY}")
    for column in ("orgs", "requests", "latency", "limit", "measured", "limit / measured", "overhead per request"):
        table.add_column(column, justify="right")
    for orgs, latency in ((1, 0.0), (8, 0.0), (32, 0.0), (1, 0.1), (8, 0.1), (32, 0.1), (32, 0.25)):
        requests, limit, elapsed = measure(orgs, latency)
        overhead_ms = (elapsed - limit) / max(1, requests) * 1000 * min(POLL_CONCURRENCY, orgs)
        table.add_row(
            str(orgs),
            str(requests),
            f"{latency * 1000:.0f} ms",
            f"{limit:.3f} s",
            f"{elapsed:.3f} s",
            f"{limit / elapsed:.0%}" if limit else "-",
            f"{overhead_ms:.1f} ms",
        )
    Console().print(table)


if __name__ == "__main__":
    main()

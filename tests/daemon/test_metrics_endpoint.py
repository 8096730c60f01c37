"""`rotator run` scraped over loopback: per-key series that match the sandbox, rotation and lease metrics, a
`promtool check metrics` clean exposition with no secret in it, and the probes."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.daemon_world import MANAGED, StartDaemon, World
from tests.support.dependencies import skip_or_fail
from tests.support.metrics import Sample, value, values
from tests.support.polling import wait_for
from tests.support.sandbox_vault_world import DAY
from tests.support.secrets_scan import assert_no_secrets

P = "langsmith_rotator_"


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        skip_or_fail("promtool is missing: apt-get install prometheus")
    assert promtool is not None
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, f"promtool check metrics:\n{done.stdout}{done.stderr}"
    assert not (done.stdout + done.stderr).strip(), f"promtool lint findings:\n{done.stdout}{done.stderr}"


def key_series(samples: list[Sample]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Expiry and creation series (last use moves as keys are used)."""
    names = (f"{P}key_expiry_timestamp_seconds", f"{P}key_created_timestamp_seconds")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in samples if s.name in names}


def test_a_daemon_rotates_and_exports_what_the_sandbox_holds(
    world: World, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    old = world.managed_key()
    ci = world.service_key("ci pipeline", age=5 * DAY, lifetime=None)
    doomed = world.service_key("doomed dashboard", age=40 * DAY, lifetime=60 * DAY)
    before = world.key_ids()
    started = time.time()
    daemon = start_daemon(world, world.config_file(tmp_path, old))
    daemon.wait_serving()
    [first] = daemon.wait_cycles(1)
    assert first["rotations"] == 1 and first["lease"] == "held", first

    text, samples = daemon.scrape()

    # The rotation happened, and the new key is the one in Vault.
    stored = world.stored()
    new_id = str(stored.data["key_id"])
    assert new_id != old.id and new_id not in before
    new = world.key(new_id)
    assert value(samples, f"{P}rotations_total", secret=MANAGED, result="rotated") == 1
    assert value(samples, f"{P}last_rotation_success_timestamp_seconds", secret=MANAGED) >= started - 1
    assert value(samples, f"{P}lease_held") == 1
    last_cycle = value(samples, f"{P}last_successful_cycle_timestamp_seconds")
    assert started - 1 <= last_cycle <= time.time() + 1
    assert value(samples, f"{P}org_poll_failed", org="acme") == 0
    assert value(samples, f"{P}cycle_duration_seconds_count") >= 1
    assert sum(values(samples, f"{P}api_requests_total", service="langsmith", method="POST", status="200")) >= 1

    # Expiry series: one per key the sandbox lists, at the sandbox's expiry; the managed key carries its name,
    # the old key waiting out its 24h grace is not reported, a never-expiring key has no expiry series.
    expiry = {
        (s.labels["description"], s.labels["managed"]): s.value
        for s in samples
        if s.name == f"{P}key_expiry_timestamp_seconds"
    }
    doomed_expires_at = world.key(doomed.id).expires_at
    assert new.expires_at is not None and doomed_expires_at is not None
    assert world.key(world.admin.id).expires_at is None and world.key(ci.id).expires_at is None
    assert expiry == {
        ("chatbot prod", MANAGED): new.expires_at.timestamp(),
        ("doomed dashboard", ""): doomed_expires_at.timestamp(),
    }
    assert world.key(old.id).deleted_at is None, "grace 24h: the old key is alive, just not reported"
    created = {s.labels["description"]: s.value for s in samples if s.name == f"{P}key_created_timestamp_seconds"}
    assert created["ci pipeline"] == world.key(ci.id).created_at.timestamp()
    assert all(s.labels["org"] == "acme" and s.labels["kind"] == "service_key" for s in samples if "key_" in s.name)

    assert_no_secrets(text, known=world.secrets())
    promtool_check(text)

    health = daemon.get("/healthz")
    assert health.status_code == 200 and health.json()["ok"] is True
    ready = daemon.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() | {"ok": True, "vault": "ok", "last_poll": "ok", "lease": "held"} == ready.json()
    assert daemon.get("/nope").status_code == 404

    # A key deleted in LangSmith loses its series at the next cycle; nothing else changes.
    world.state.delete_key(doomed.id)
    daemon.wait_cycles(2)
    _, later = daemon.scrape()
    assert not [s for s in later if s.labels.get("description") == "doomed dashboard"]
    assert key_series(later) == {
        series: at for series, at in key_series(samples).items() if ("description", "doomed dashboard") not in series[1]
    }
    assert value(later, f"{P}last_successful_cycle_timestamp_seconds") >= last_cycle
    assert value(later, f"{P}cycle_duration_seconds_count") >= 2
    assert value(later, f"{P}last_rotation_success_timestamp_seconds", secret=MANAGED) == value(
        samples, f"{P}last_rotation_success_timestamp_seconds", secret=MANAGED
    ), "no second rotation: the new key is not due"
    assert {key.id for key in world.live_keys()} == before - {doomed.id} | {new_id}


def test_readyz_fails_while_the_admin_key_is_rejected(world: World, start_daemon: StartDaemon, tmp_path: Path) -> None:
    old = world.managed_key()
    revoked = world.state.add_service_key(world.org_id, description="revoked admin")
    world.state.delete_key(revoked.id)
    daemon = start_daemon(world, world.config_file(tmp_path, old), admin_secret=revoked.secret)
    daemon.wait_serving()
    [cycle] = daemon.wait_cycles(1)
    assert cycle["failed_orgs"] == ["acme"]

    def not_ready() -> httpx.Response | None:
        answer = daemon.get("/readyz")
        return answer if answer.status_code == 503 else None

    ready = wait_for(not_ready, timeout=10, what="/readyz to fail")
    assert ready.json()["last_poll"] == "failed" and ready.json()["vault"] == "ok"
    assert daemon.get("/healthz").status_code == 200, "a failed poll is not a reason to restart the pod"
    text, samples = daemon.scrape()
    assert value(samples, f"{P}org_poll_failed", org="acme") == 1
    assert not values(samples, f"{P}last_successful_cycle_timestamp_seconds"), "no cycle has succeeded yet"
    assert not values(samples, f"{P}key_expiry_timestamp_seconds")
    assert world.stored().data["key_id"] == old.id, "nothing rotated with a rejected admin key"
    assert_no_secrets(text, known=[*world.secrets(), revoked.secret])

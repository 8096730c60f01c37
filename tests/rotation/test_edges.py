"""Rotation off the happy path, against the sandbox and the real OpenBao: answers that lack fields or leave keys
out, creates that land late, a second actor recovering the same secret, a leak, first adoption, the rotator's
own admin key, honest dry runs, and LangSmith's limits and odd dates. Each case keeps I1-I3."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from langsmith_sandbox import FaultRule, IssuedKey
from langsmith_sandbox.roles import BUILTIN_BY_NAME, ORGANIZATION_VIEWER
from rotator.bootstrap import build_services
from rotator.config import Settings
from rotator.cycle import Rotator
from rotator.langsmith import LangSmithClient
from rotator.rotation import Result
from rotator.vault.kv import KvStore
from tests.support.orgs import ORG_ADMIN_ROLE
from tests.support.rotation_world import (
    EDITOR_ROLE,
    HOUR,
    World,
    WorldFactory,
    assert_i1,
    assert_i3,
    assert_invariants,
    run_cli,
)
from tests.support.sandbox_vault_world import CREATE_PATH, DAY

pytestmark = pytest.mark.integration

ORG_VIEWER_ROLE = BUILTIN_BY_NAME[ORGANIZATION_VIEWER].id
OLDER_SHAPE = ["role_id", "org_role_id", "access_scope"]


def older_langsmith(world: World, *fields: str) -> None:
    """From now on the sandbox answers like a LangSmith that does not send ``fields`` for any key."""
    world.state.faults.add(FaultRule(path=CREATE_PATH, omit_fields=list(fields)))


def use_key(world: World, secret: str) -> None:
    """A consumer calls LangSmith with ``secret`` now (on the sandbox's clock), so LangSmith records the use."""
    response = httpx.get(
        f"{world.api_url}/orgs/current/info", headers={"X-API-Key": secret, "X-Organization-Id": world.org_id}
    )
    assert response.status_code == 200


def new_keys(world: World, before: set[str]) -> list[str]:
    return [key.id for key in world.state.all_keys() if key.id not in before and key.deleted_at is None]


# ── 1. a field LangSmith does not list is never a default ──────────────────────────────────────────────


def workspace_editor(world: World) -> IssuedKey:
    return world.managed_key(workspace_ids=[world.production_id, world.staging_id], role_id=EDITOR_ROLE)


@pytest.mark.parametrize(
    ("seed", "omitted", "pin", "check"),
    [
        pytest.param(
            workspace_editor,
            ["role_id"],
            {"role": "Editor"},
            lambda world, key: key.role_id == EDITOR_ROLE,
            id="role_id",
        ),
        pytest.param(
            lambda world: world.managed_key(org_role_id=ORG_VIEWER_ROLE),
            ["org_role_id"],
            {"org_role": "Organization Viewer"},
            lambda world, key: key.org_role_id == ORG_VIEWER_ROLE and not key.workspace_ids,
            id="org_role_id",
        ),
        pytest.param(
            workspace_editor,
            ["access_scope", "workspace_names"],
            {"scope": ["production", "staging"]},
            lambda world, key: set(key.workspace_ids) == {world.production_id, world.staging_id},
            id="scope",
        ),
        pytest.param(
            workspace_editor,
            ["expires_at"],
            {"lifetime": "90d"},
            lambda world, key: key.expires_at == (world.now() + 90 * DAY).replace(microsecond=0),
            id="expires_at",
        ),
    ],
)
def test_an_unlisted_field_refuses_the_rotation_until_the_config_pins_it(
    world: World, seed: Any, omitted: list[str], pin: dict[str, Any], check: Any
) -> None:
    old = seed(world)
    before = world.key_ids()
    older_langsmith(world, *omitted)

    [outcome] = world.run(world.managed(key=old))

    assert outcome.result is Result.FAILED
    assert "LangSmith did not list the key's" in outcome.message and "set managed[]." in outcome.message
    assert world.key_ids() == before, "nothing is created on doubt"
    assert world.stored().data["key_id"] == old.id
    assert world.journal().failures == 1, "refused with a backoff, like any failed rotation"

    world.state.clock.advance(2 * HOUR)  # past the backoff
    [outcome] = world.run(world.managed(key=old, **pin))

    assert outcome.result is Result.ROTATED, outcome.message
    new = assert_invariants(world, old_id=old.id, before=before)
    assert check(world, new), f"the replacement is not what the old key was: {new}"
    assert new.role_id == world.state.key(old.id).role_id  # type: ignore[union-attr]
    assert new.org_role_id == world.state.key(old.id).org_role_id  # type: ignore[union-attr]


def test_a_pin_that_contradicts_what_langsmith_lists_is_refused(world: World) -> None:
    old = workspace_editor(world)
    before = world.key_ids()

    [outcome] = world.run(world.managed(key=old, role="Admin"))

    assert outcome.result is Result.FAILED
    assert "the config pins" in outcome.message
    assert world.key_ids() == before


def test_a_replacement_listed_with_a_wider_role_fails_verification_and_is_deleted(world: World) -> None:
    """The create ignores the planned role (as a LangSmith without role_id would): verification catches it."""
    old = workspace_editor(world)
    before = world.key_ids()
    original_create = LangSmithClient.create_org_service_key

    def create_without_role(client: LangSmithClient, **kwargs: Any) -> Any:
        return original_create(client, **{**kwargs, "role_id": None})

    runtime = world.runtime(world.managed(key=old))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LangSmithClient, "create_org_service_key", create_without_role)
        [outcome] = runtime.run_cycle().outcomes
    runtime.services.gate.release()

    assert outcome.result is Result.FAILED
    assert "failed verification" in outcome.message and "role_id" in outcome.message
    assert new_keys(world, before) == [], "the wider key is deleted"
    assert world.stored().data["key_id"] == old.id


# ── 2. a pending grace never delays the next rotation ───────────────────────────────────────────────────


def test_an_old_key_held_in_use_does_not_delay_the_next_rotation(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE, lifetime=2 * DAY, age=36 * HOUR)
    before = world.key_ids()
    entry = world.managed(key=old, lifetime="2d", rotate_before="1d", grace_period="1h", max_grace="12h")

    [outcome] = world.run(entry)
    assert outcome.result is Result.ROTATED, outcome.message
    first = assert_i1(world)
    previous = old
    for _ in range(8):  # two days, every six hours, with a consumer that keeps reading the key it had
        world.state.clock.advance(6 * HOUR)
        record = world.state.key(previous.id)
        if record is not None and record.deleted_at is None and not record.is_expired(world.now()):
            use_key(world, previous.secret)
        world.run(entry)
        assert_i1(world)  # never an expired or deleted key in Vault
    assert world.stored().data["key_id"] not in (old.id, first.id), "the key was rotated again on time"
    waiting = {world.stored().data["key_id"], *(retiring.key_id for retiring in world.journal().retiring)}
    assert set(new_keys(world, before)) <= waiting, "every key made is in Vault or waits to be deleted"


# ── 3. deleted means LangSmith answered the DELETE ──────────────────────────────────────────────────────


def test_an_old_key_left_out_of_the_listing_is_still_deleted_by_id(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    entry = world.managed(key=old, grace_period="1h")
    assert world.run(entry)[0].result is Result.ROTATED
    world.state.clock.advance(2 * HOUR)
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="GET", hide_ids=[old.id]))  # every list, stale

    [outcome] = world.run(entry)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live_key(old.id), "reported deleted, so LangSmith must have deleted it"
    assert world.journal().retiring == ()
    assert_invariants(world, old_id=old.id, before=before, grace=HOUR)


def test_a_failed_delete_is_not_reported_as_deleted(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    entry = world.managed(key=old, grace_period="0")
    world.state.faults.add(FaultRule(path=f"{CREATE_PATH}/", method="DELETE", status=503))

    [outcome] = world.run(entry)

    assert outcome.result is Result.FAILED
    assert f"old key {old.id} deleted" not in outcome.message
    assert world.live_key(old.id)
    assert [retiring.key_id for retiring in world.journal().retiring] == [old.id], "kept for the next run"


# ── 4. a create that lands late is found and deleted ────────────────────────────────────────────────────


def test_a_create_that_lands_after_the_client_gave_up_is_deleted_when_it_appears(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    entry = world.managed(key=old)
    http = {"timeout": "1s", "max_attempts": 1, "max_retry_time": "1s"}
    late = world.state.faults.add(
        FaultRule(path=CREATE_PATH, method="POST", latency_seconds=2.5, when="before", times=1)
    )

    [outcome] = world.run(entry, http=http)
    assert outcome.result is Result.FAILED and "unknown outcome" in outcome.message
    [outcome] = world.run(entry, http=http)  # at once: the create has not landed yet
    assert new_keys(world, before) == []
    assert world.journal().rotation is None
    assert len(world.journal().unresolved) == 1, "the lost create's fingerprint is kept"

    deadline = time.monotonic() + 10
    while not new_keys(world, before) and time.monotonic() < deadline:
        time.sleep(0.1)
    [landed] = new_keys(world, before)
    assert late not in [fault.id for fault in world.state.faults.active()]

    world.run(entry, http=http)

    assert not world.live_key(landed), "the late key nobody holds is deleted"
    assert_i1(world)
    assert_i3(world, before)


# ── 5. two actors on one secret: the journal claim stops the second before it deletes ───────────────────


def test_a_second_actor_recovering_a_rotation_in_flight_never_leaves_vault_with_a_deleted_key(
    world: World,
) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    entry = world.managed(key=old)
    first = world.runtime(entry)
    second_settings = world.config(entry)
    second_settings["lease"] = {"name": "other"}  # misconfigured: two leases for one secret
    verifying, resume = threading.Event(), threading.Event()
    real_write = KvStore.write
    target = world.path()

    def pausing_write(kv: KvStore, path: str, data: Any, *, cas: int) -> int:
        """The first actor, verified, is slow to store its new key: the second recovers meanwhile."""
        if kv.session is first.services.vault and path == target:
            verifying.set()
            assert resume.wait(20)
        return real_write(kv, path, data, cas=cas)

    outcomes: list[Any] = []
    thread = threading.Thread(target=lambda: outcomes.extend(first.run_cycle().outcomes))
    patch = pytest.MonkeyPatch()
    patch.setattr(KvStore, "write", pausing_write)
    thread.start()
    try:
        assert verifying.wait(20), "the first actor never reached its Vault write"
        world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=400, times=1))
        second = Rotator(
            build_services(Settings.model_validate(second_settings), world.credentials(), now=world.state.clock.now)
        )
        second.run_cycle()
        second.services.gate.release()
    finally:
        resume.set()
        thread.join(30)
        patch.undo()
        first.services.gate.release()

    assert outcomes and outcomes[0].result in (Result.SKIPPED, Result.FAILED), outcomes
    assert_i1(world)  # Vault never holds the key the second actor deleted
    assert_i3(world, before)


# ── 6. leak response ────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def live_world(make_world: WorldFactory) -> World:
    return make_world(real_clock=True)


def test_rotate_during_a_pending_grace_refuses_and_revoke_old_deletes_every_older_key_at_once(
    live_world: World, tmp_path: Path
) -> None:
    world = live_world
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    config = world.config_file(tmp_path, world.managed(key=old, grace_period="24h"))
    assert run_cli(world, config, "once").code == 0
    leaked = assert_i1(world)

    refused = run_cli(world, config, "rotate", "chatbot")

    assert refused.code == 2, refused.stdout
    assert f"old key(s) {old.id} still wait to be deleted" in refused.stdout and "--revoke-old" in refused.stdout
    assert world.stored().data["key_id"] == leaked.id, "nothing changed"

    revoked = run_cli(world, config, "rotate", "chatbot", "--revoke-old")

    assert revoked.code == 0, revoked.stdout + revoked.stderr[-2000:]
    assert "chatbot: completed" in revoked.stdout
    fresh = assert_i1(world)
    assert fresh.id not in (old.id, leaked.id)
    assert not world.live_key(old.id) and not world.live_key(leaked.id), "the leaked key dies at once"
    assert world.journal().retiring == ()
    assert_i3(world, before)


def test_revoke_old_deletes_a_leaked_key_even_when_the_listing_leaves_it_out(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    entry = world.managed(key=old, grace_period="0")
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="GET", hide_ids=[old.id], times=2))
    runtime = world.runtime(entry)

    outcome = runtime.run_secret(runtime.settings.managed[0], dry_run=False, force=True, revoke_old=True)
    runtime.services.gate.release()

    assert outcome.result is Result.FAILED, "the managed key itself is missing from the listing: no guessing"
    world.state.faults.clear()
    runtime = world.runtime(entry)
    outcome = runtime.run_secret(runtime.settings.managed[0], dry_run=False, force=True, revoke_old=True)
    runtime.services.gate.release()
    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live_key(old.id)
    assert_i1(world)


# ── 7. first adoption ───────────────────────────────────────────────────────────────────────────────────


def test_an_adopted_key_not_in_vault_is_kept_while_its_consumers_still_use_it(world: World) -> None:
    original = world.managed_key(org_role_id=ORG_ADMIN_ROLE, store=False)
    before = world.key_ids()
    entry = world.managed(key=original, grace_period="1h", max_grace="2h")

    [dry] = world.runtime(entry).run_cycle(dry_run=True).outcomes
    assert "nothing is in Vault yet" in dry.message and "rotator adopt NAME --secret-stdin" in dry.message

    [outcome] = world.run(entry)
    assert outcome.result is Result.ROTATED and "never in Vault" in outcome.message
    assert_i1(world)
    for _ in range(6):  # far past max_grace, with the consumer still on the original secret
        world.state.clock.advance(HOUR)
        use_key(world, original.secret)
        [outcome] = world.run(entry)
        assert world.live_key(original.id), "an adopted original in use is never deleted"
    assert outcome.result is Result.HELD and outcome.held_key_id == original.id
    assert "only its consumers hold it" in outcome.message

    world.state.clock.advance(2 * HOUR)  # the consumers moved to Vault: no use for longer than the grace period
    [outcome] = world.run(entry)
    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live_key(original.id)
    assert_i3(world, before)


def test_adopt_secret_stdin_stores_the_existing_key_without_making_a_new_one(live_world: World, tmp_path: Path) -> None:
    world = live_world
    original = world.managed_key(org_role_id=ORG_ADMIN_ROLE, store=False)
    other = world.managed_key("other", description="someone else", org_role_id=ORG_ADMIN_ROLE, store=False)
    before = world.key_ids()
    config = world.config_file(tmp_path, world.managed(key=original))
    secrets = [original.secret, other.secret]

    wrong = run_cli(world, config, "adopt", "chatbot", "--secret-stdin", stdin=other.secret + "\n", secrets=secrets)
    assert wrong.code == 2 and "is not key" in wrong.stdout
    assert world.kv.read(world.path()) is None

    done = run_cli(world, config, "adopt", "chatbot", "--secret-stdin", stdin=original.secret + "\n", secrets=secrets)

    assert done.code == 0, done.stdout + done.stderr[-2000:]
    assert "chatbot: adopted" in done.stdout
    stored = world.stored()
    assert stored.data["api_key"] == original.secret and stored.data["key_id"] == original.id
    assert world.key_ids() == before, "no new key"
    once = run_cli(world, config, "once", secrets=secrets)
    assert once.code == 0 and "chatbot: rotated" in once.stdout, once.stdout  # it was due: a key in Vault
    [retiring] = world.journal().retiring
    assert (retiring.key_id, retiring.adopted_original) == (original.id, False), "its secret is in Vault now"


def test_adopt_refuses_a_secret_that_does_not_authenticate(live_world: World, tmp_path: Path) -> None:
    world = live_world
    original = world.managed_key(org_role_id=ORG_ADMIN_ROLE, store=False)
    config = world.config_file(tmp_path, world.managed(key=original))
    forged = original.secret[:-4] + ("0000" if not original.secret.endswith("0000") else "1111")

    run = run_cli(world, config, "adopt", "chatbot", "--secret-stdin", stdin=forged, secrets=[forged, original.secret])

    assert run.code == 2 and "does not authenticate" in run.stdout
    assert world.kv.read(world.path()) is None


# ── 8. the rotator's own admin key ──────────────────────────────────────────────────────────────────────


def test_the_rotators_own_admin_key_from_the_environment_is_never_rotated(world: World) -> None:
    before = world.key_ids()
    world.store_key(world.path(), world.admin)

    [outcome] = world.run(world.managed(key=world.admin, grace_period="0"))

    assert outcome.result is Result.FAILED
    assert "the rotator's own admin key" in outcome.message and "environment variable" in outcome.message
    assert world.key_ids() == before and world.live_key(world.admin.id)


def test_a_key_that_only_shares_the_admin_keys_short_key_is_still_rotated(world: World) -> None:
    """LangSmith shows only a few characters of a key: two keys can share a short key. The one in Vault is
    known by its secret, which is not the admin key's."""
    visible = len("lsv2_sk_") + 4
    twin = world.admin.secret[:visible] + "f" * 28 + "_" + "f" * 10  # lsv2_sk_<32 hex>_<10 hex>
    assert twin != world.admin.secret
    created = world.now() - 70 * DAY
    old = world.state.add_service_key(
        world.org_id, org_role_id=ORG_ADMIN_ROLE, description="chatbot prod", created_at=created,
        expires_at=created + 90 * DAY, secret=twin,
    )  # fmt: skip
    record, admin = world.state.key(old.id), world.state.key(world.admin.id)
    assert record is not None and admin is not None and record.short_key == admin.short_key
    world.store_key(world.path(), old)

    [outcome] = world.run(world.managed(key=old, grace_period="0"))

    assert outcome.result is Result.COMPLETED, outcome.message
    assert world.live_key(world.admin.id) and not world.live_key(old.id)


# ── 9. an honest dry run ────────────────────────────────────────────────────────────────────────────────


def test_a_dry_run_outside_the_window_or_without_the_lease_says_a_real_run_would_skip(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    entry = world.managed(key=old)
    closed = (world.now() + 2 * HOUR).strftime("%H:%M")
    config = {**world.config(entry), "rotation_window": {"start": closed, "end": "23:59"}}
    runtime = Rotator(build_services(Settings.model_validate(config), world.credentials(), now=world.state.clock.now))
    [outcome] = runtime.run_cycle(dry_run=True).outcomes
    assert (
        outcome.result is Result.SKIPPED and "a real run now would skip: outside the rotation window" in outcome.message
    )

    other_holder = {"holder": "elsewhere/1", "expires_at": (datetime.now(UTC) + HOUR).isoformat()}
    world.kv.write(world.lease_path, other_holder, cas=0)
    [outcome] = world.runtime(entry).run_cycle(dry_run=True).outcomes
    assert outcome.result is Result.STANDBY and "elsewhere/1" in outcome.message
    assert world.stored().data["key_id"] == old.id


# ── 10. LangSmith's limits and odd dates ────────────────────────────────────────────────────────────────


@pytest.fixture
def api_capped_world(make_world: WorldFactory) -> World:
    return make_world(max_api_key_expiry_days=30)


def test_the_api_key_maximum_caps_the_new_keys_lifetime_when_no_service_key_maximum_is_set(
    api_capped_world: World,
) -> None:
    world = api_capped_world
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE, lifetime=None, age=100 * DAY)  # never expires, too old
    before = world.key_ids()

    [outcome] = world.run(world.managed(key=old))

    assert outcome.result is Result.ROTATED, outcome.message
    new = assert_invariants(world, old_id=old.id, before=before)
    assert new.expires_at is not None and new.expires_at < world.now() + timedelta(days=30)


@pytest.mark.parametrize(
    ("created_at", "expires_at"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
        (datetime(2025, 12, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)),
    ],
    ids=["created-year-1", "expires-year-9999"],
)
def test_absurd_dates_are_malformed_input_not_a_crash(world: World, created_at: datetime, expires_at: datetime) -> None:
    odd = world.state.add_service_key(
        world.org_id,
        org_role_id=ORG_ADMIN_ROLE,
        description="odd dates",
        created_at=created_at,
        expires_at=expires_at,
    )
    world.store_key(world.path(), odd)
    before = world.key_ids()

    [outcome] = world.run(world.managed(key=odd, rotate_before="1d"))

    assert "internal error" not in outcome.message
    assert outcome.result in (Result.FAILED, Result.IDLE), outcome.message
    assert world.key_ids() == before


def test_a_created_secret_with_a_trailing_newline_is_malformed_and_its_key_is_cleaned_up(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    entry = world.managed(key=old)
    with pytest.MonkeyPatch.context() as patch:
        original_call = LangSmithClient._call

        def garbling_call(client: LangSmithClient, route: Any, parse: Any, *args: Any, **kwargs: Any) -> Any:
            def garbled(body: object) -> Any:
                if isinstance(body, dict) and "key" in body:
                    body = {**body, "key": f"{body['key']}\n"}
                return parse(body)

            return original_call(client, route, garbled, *args, **kwargs)

        patch.setattr(LangSmithClient, "_call", garbling_call)
        [outcome] = world.run(entry)

    assert outcome.result is Result.FAILED and "unknown outcome" in outcome.message
    assert world.stored().data["key_id"] == old.id
    [made] = new_keys(world, before)  # LangSmith made it; the rotator never saw a usable secret
    world.run(entry)  # recovery finds the key by its fingerprint
    assert not world.live_key(made), "the key whose secret was garbled is deleted"
    assert_i1(world)
    assert_i3(world, before)

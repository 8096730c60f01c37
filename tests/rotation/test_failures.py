"""Failures at each call: LangSmith errors, rate limits and timeouts, Vault sealed, unreachable or refusing, a
concurrent writer, a new key that fails verification. Each either recovers by retrying or fails cleanly:
the old key stays in Vault and alive, nothing is orphaned, and the failure is recorded with its backoff."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from langsmith_sandbox import FaultRule, IssuedKey
from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.config import OrgSettings
from rotator.domain.keys import CreatedKey
from rotator.domain.rotation import Phase
from rotator.langsmith import ApiKeySource, LangSmithClient
from rotator.ports import JsonValue
from rotator.rotation import Result
from rotator.vault.errors import VaultUnavailableError
from rotator.vault.kv import KvStore
from tests.support.openbao import require_bao
from tests.support.orgs import ORG_ADMIN_ROLE
from tests.support.rotation_world import HOUR, World, WorldFactory, assert_i1, assert_i3, assert_invariants
from tests.support.sandbox_vault_world import CREATE_PATH

pytestmark = pytest.mark.integration

LIST_PATH = CREATE_PATH
KEY_PATH_REGEX = r"^/api/v1/orgs/current/service-keys/[0-9a-f-]+$"


def assert_failed_cleanly(world: World, old: IssuedKey, before: set[str]) -> None:
    """Nothing destroyed, nothing orphaned: Vault still holds the old key, which still works."""
    assert world.stored().data["key_id"] == old.id
    assert assert_i1(world).id == old.id
    assert world.live_key(old.id)
    assert_i3(world, before)


def assert_backoff_recorded(world: World, failures: int = 1) -> None:
    journal = world.journal()
    assert journal.failures == failures
    assert journal.next_attempt_at == world.now() + HOUR * 2 ** (failures - 1)
    assert journal.last_error


# ── LangSmith ───────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(FaultRule(path=LIST_PATH, method="GET", status=503, times=1), id="list-503"),
        pytest.param(FaultRule(path=LIST_PATH, method="GET", status=429, retry_after=0, times=1), id="list-429"),
        pytest.param(FaultRule(path=KEY_PATH_REGEX, regex=True, method="DELETE", status=502, times=1), id="delete-502"),
        pytest.param(FaultRule(path=LIST_PATH, method="GET", latency_seconds=1.5, times=1), id="list-timeout"),
    ],
)
def test_a_passing_langsmith_failure_is_retried_and_the_rotation_completes(world: World, fault: FaultRule) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    world.state.faults.add(fault)

    [outcome] = world.run(world.managed(key=old, grace_period="0"), http={"timeout": "1s", "max_attempts": 3})

    assert outcome.result is Result.COMPLETED, outcome.message
    assert world.state.faults.active() == [], "the fault was hit"
    assert_invariants(world, old_id=old.id, before=before, grace=timedelta(0))
    assert not world.live_key(old.id)
    assert len(world.key_ids() - before) == 1, "a create is never retried into a second key"


def test_a_langsmith_outage_on_listing_fails_before_anything_is_created(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    world.state.faults.add(FaultRule(path=LIST_PATH, method="GET", status=500))

    [outcome] = world.run(world.managed(key=old))

    assert outcome.result is Result.FAILED
    assert "HTTP 500" in outcome.message
    assert world.key_ids() == before
    assert_failed_cleanly(world, old, before)


def test_a_rate_limited_create_is_not_retried_and_the_next_run_rotates(world: World) -> None:
    """A 429 on a create may come after LangSmith made the key, so it is an unknown outcome, never retried at once."""
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=429, retry_after=0, times=1))

    [outcome] = world.run(world.managed(key=old))

    assert outcome.result is Result.FAILED
    assert "unknown outcome" in outcome.message and "429" in outcome.message
    assert world.key_ids() == before, "refused before LangSmith: no key was made"
    assert_backoff_recorded(world)
    world.state.clock.advance(HOUR * 2)
    [outcome] = world.run(world.managed(key=old))
    assert outcome.result is Result.ROTATED, outcome.message
    assert_invariants(world, old_id=old.id, before=before)


def test_a_create_that_failed_before_reaching_langsmith_leaves_no_orphan(world: World) -> None:
    """A 500 answered in front of LangSmith: the outcome is unknown to the rotator, so the next run looks."""
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=500, times=1))
    secret = world.managed(key=old)

    [outcome] = world.run(secret)

    assert outcome.result is Result.FAILED
    assert world.key_ids() == before
    assert_backoff_recorded(world)
    journal = world.journal()
    assert journal.rotation is not None and journal.rotation.phase is Phase.INTENT

    [outcome] = world.run(secret)

    assert outcome.result is Result.WAITING, outcome.message
    assert world.journal().rotation is None
    assert world.key_ids() == before
    assert_failed_cleanly(world, old, before)


def test_a_create_that_timed_out_after_langsmith_made_the_key_is_cleaned_up(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", latency_seconds=2, when="after", times=1))
    secret = world.managed(key=old)

    [outcome] = world.run(secret, http={"timeout": "1s", "max_attempts": 3})

    assert outcome.result is Result.FAILED
    assert "unknown outcome" in outcome.message
    [orphan] = world.key_ids() - before
    assert world.live_key(orphan)
    assert_backoff_recorded(world)

    [outcome] = world.run(secret)

    assert outcome.result is Result.WAITING, outcome.message
    assert not world.live_key(orphan)
    assert_failed_cleanly(world, old, before)


def test_deleting_the_old_key_failing_keeps_it_for_the_next_run(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    secret = world.managed(key=old, grace_period="1h")
    [outcome] = world.run(secret)
    assert outcome.result is Result.ROTATED
    world.state.clock.advance(2 * HOUR)
    fault = world.state.faults.add(FaultRule(path=KEY_PATH_REGEX, regex=True, method="DELETE", status=500))

    [outcome] = world.run(secret)

    assert outcome.result is Result.FAILED
    assert "HTTP 500" in outcome.message
    assert world.live_key(old.id)
    new = assert_invariants(world, old_id=old.id, before=before, grace=HOUR)
    journal = world.journal()
    assert journal.rotation is None and [retiring.key_id for retiring in journal.retiring] == [old.id]

    world.state.faults.remove(fault)
    [outcome] = world.run(secret)

    assert outcome.result is Result.COMPLETED, outcome.message
    assert not world.live_key(old.id)
    assert assert_invariants(world, old_id=old.id, before=before, grace=HOUR).id == new.id
    assert world.journal().rotation is None


def test_a_new_key_that_fails_verification_is_deleted_and_never_stored(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("rotator.rotation.VERIFY_FIRST_WAIT_SECONDS", 0.0)
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    runtime = world.runtime(world.managed(key=old))
    admin_build = runtime.services.build_client
    attempts: list[str] = []

    def build(org: OrgSettings, api_key: str | ApiKeySource) -> LangSmithClient:
        if not isinstance(api_key, str):  # the admin key, read from its source; the verifier passes a secret
            return admin_build(org, api_key)
        attempts.append("verify")
        world.state.faults.add(FaultRule(path="/api/v1/orgs/current/info", method="GET", status=401, times=1))
        return admin_build(org, api_key)

    runtime.services = replace(runtime.services, build_client=build)
    [outcome] = runtime.run_cycle().outcomes

    assert outcome.result is Result.FAILED
    assert "failed verification" in outcome.message and "does not authenticate" in outcome.message
    assert len(attempts) == 3
    [new] = world.key_ids() - before
    assert not world.live_key(new), "a key that failed verification is deleted"
    assert world.version() == 1, "and never written to Vault"
    assert_failed_cleanly(world, old, before)
    assert_backoff_recorded(world)
    assert world.journal().rotation is None


# ── Vault ───────────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def own_openbao() -> Iterator[OpenBaoDevServer]:
    """A dev server of this test's own, which it may seal."""
    with OpenBaoDevServer(bao_path=require_bao()) as server:
        yield server


def test_a_sealed_vault_fails_the_rotation_before_anything_is_created(
    make_world: WorldFactory, own_openbao: OpenBaoDevServer
) -> None:
    world = make_world(bao=own_openbao)
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    own_openbao.seal()

    [outcome] = world.run(world.managed(key=old))

    assert outcome.result is Result.FAILED
    assert "sealed" in outcome.message
    assert world.key_ids() == before
    assert world.live_key(old.id)


def test_an_unreachable_vault_fails_the_rotation_before_anything_is_created(world: World, unused_port: int) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()

    [outcome] = world.run(world.managed(key=old), vault_address=f"http://127.0.0.1:{unused_port}")

    assert outcome.result is Result.FAILED
    assert "cannot connect to Vault" in outcome.message
    assert world.key_ids() == before
    assert_failed_cleanly(world, old, before)


def policy(world: World, name: str, rules: dict[str, list[str]]) -> str:
    """A token whose only policy grants each path its capabilities."""
    hcl = "\n".join(f'path "{path}" {{ capabilities = {json.dumps(caps)} }}' for path, caps in rules.items())
    world.bao.write_policy(name, hcl)
    return world.bao.create_token([name])


READ_ONLY_TARGET = {
    "secret/data/{prefix}/apps/*": ["read"],
    "secret/metadata/{prefix}/apps/*": ["read"],
    "secret/data/{state_prefix}/*": ["create", "read", "update"],
}


def read_only_target(world: World, name: str, **extra: list[str]) -> str:
    rules = {
        path.format(prefix=world.prefix, state_prefix=world.state_prefix): caps
        for path, caps in READ_ONLY_TARGET.items()
    }
    return policy(world, f"{world.prefix}-{name}", {**rules, **extra})


def test_a_token_that_cannot_write_the_target_fails_before_creating_a_key(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    token = read_only_target(world, "read-target")
    secret = world.managed(key=old)

    [outcome] = world.run(secret, vault_token=token)

    assert outcome.result is Result.FAILED
    assert f"may not update secret/data/{world.prefix}/apps/" in outcome.message
    assert "no key was created: the Vault token may not" in outcome.message
    assert "(its capabilities there: read)" in outcome.message
    assert_failed_cleanly(world, old, before)
    assert world.key_ids() == before, "no key created, so none to delete"
    assert_backoff_recorded(world)

    [outcome] = world.run(secret, vault_token=token)

    assert outcome.result is Result.WAITING, "backing off"
    assert world.key_ids() == before


def test_when_vault_will_not_say_the_refused_write_deletes_the_new_key(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    token = read_only_target(world, "read-target-silent", **{"sys/capabilities-self": ["deny"]})
    secret = world.managed(key=old)

    [outcome] = world.run(secret, vault_token=token)

    assert outcome.result is Result.FAILED
    assert "permission denied" in outcome.message and world.path() in outcome.message
    assert_failed_cleanly(world, old, before)
    assert world.version() == 1
    assert world.key_ids() - before, "the rotation got as far as creating the new key"
    assert_backoff_recorded(world)
    assert world.journal().rotation is None

    [outcome] = world.run(secret, vault_token=token)

    assert outcome.result is Result.WAITING, "backing off: no new key every cycle"
    assert len(world.key_ids() - before) == 1


def test_a_token_that_cannot_write_the_journal_fails_before_anything_is_created(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    token = policy(
        world,
        f"{world.prefix}-read-journal",
        {
            f"secret/data/{world.prefix}/apps/*": ["create", "read", "update"],
            f"secret/metadata/{world.prefix}/apps/*": ["create", "read", "update"],
            f"secret/data/{world.state_prefix}/leases/*": ["create", "read", "update"],
            f"secret/data/{world.state_prefix}/secrets/*": ["read"],
        },
    )

    [outcome] = world.run(world.managed(key=old), vault_token=token)

    assert outcome.result is Result.FAILED
    assert "permission denied" in outcome.message and f"{world.state_prefix}/secrets/chatbot" in outcome.message
    assert world.key_ids() == before
    assert_failed_cleanly(world, old, before)
    assert world.journal_version() == 0


def test_a_token_that_cannot_write_the_state_prefix_fails_clearly(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    token = policy(
        world,
        f"{world.prefix}-read-state",
        {
            f"secret/data/{world.prefix}/apps/*": ["create", "read", "update"],
            f"secret/metadata/{world.prefix}/apps/*": ["create", "read", "update"],
            f"secret/data/{world.state_prefix}/*": ["read"],
        },
    )

    [outcome] = world.run(world.managed(key=old), vault_token=token)

    assert world.key_ids() == before
    assert_failed_cleanly(world, old, before)
    assert outcome.result is Result.FAILED
    assert "permission denied" in outcome.message and world.state_prefix in outcome.message


def test_a_concurrent_write_to_the_target_wins_and_the_new_key_is_deleted(world: World) -> None:
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    runtime = world.runtime(world.managed(key=old))
    admin_build = runtime.services.build_client

    def build(org: OrgSettings, api_key: str | ApiKeySource) -> LangSmithClient:
        client = admin_build(org, api_key)
        create = client.create_org_service_key

        def create_while_someone_writes(**kwargs: Any) -> CreatedKey:
            created = create(**kwargs)
            # Someone restores the key by hand between the rotator's intent and its write.
            world.kv.write(world.path(), {"api_key": old.secret, "key_id": old.id, "by": "hand"}, cas=1)
            return created

        client.create_org_service_key = create_while_someone_writes  # type: ignore[method-assign]
        return client

    runtime.services = replace(runtime.services, build_client=build)
    [outcome] = runtime.run_cycle().outcomes

    assert outcome.result is Result.FAILED
    assert "check-and-set" in outcome.message
    stored = world.stored()
    assert (stored.version, stored.data["by"]) == (2, "hand"), "the other writer's version stands"
    [new] = world.key_ids() - before
    assert not world.live_key(new)
    assert_failed_cleanly(world, old, before)
    assert_backoff_recorded(world)


@pytest.mark.parametrize("landed", [True, False], ids=["write-landed", "write-lost"])
def test_a_vault_write_with_an_unknown_outcome_is_settled_by_the_next_run(
    world: World, monkeypatch: pytest.MonkeyPatch, landed: bool
) -> None:
    """The write's answer never came: Vault may or may not hold the new key. The next run reads Vault and
    promotes the key if it is there, or deletes it if it is not; it never deletes a key Vault holds."""
    old = world.managed_key(org_role_id=ORG_ADMIN_ROLE)
    before = world.key_ids()
    secret = world.managed(key=old)
    real_write = KvStore.write
    target = world.path()

    def write_without_answer(kv: KvStore, path: str, data: Mapping[str, JsonValue], *, cas: int) -> int:
        if path != target or cas == 0:
            return real_write(kv, path, data, cas=cas)
        monkeypatch.setattr(KvStore, "write", real_write)  # once
        if landed:
            real_write(kv, path, data, cas=cas)
        raise VaultUnavailableError(f"Vault did not answer in time: write secret/data/{path}")

    monkeypatch.setattr(KvStore, "write", write_without_answer)

    [outcome] = world.run(secret)

    assert outcome.result is Result.FAILED
    assert "storing the new key failed; the next run finishes or undoes it" in outcome.message
    journal = world.journal()
    assert journal.rotation is not None and journal.rotation.phase is Phase.CREATED
    assert journal.failures == 1
    new_id = journal.rotation.new_key_id
    assert new_id is not None and world.live_key(new_id), "not deleted: Vault may hold it"
    assert world.version() == (2 if landed else 1)
    assert_i1(world)

    [outcome] = world.run(secret)

    assert world.live_key(old.id)
    journal = world.journal()
    if landed:
        assert outcome.result is Result.ROTATED, outcome.message
        assert journal.rotation is None and [retiring.key_id for retiring in journal.retiring] == [old.id]
        assert journal.current_key_id == new_id
        assert assert_invariants(world, old_id=old.id, before=before).id == new_id
    else:
        assert outcome.result is Result.WAITING, outcome.message
        assert journal.rotation is None
        assert not world.live_key(new_id)
        assert_failed_cleanly(world, old, before)

"""The unit tier's doubles keep the ports' contracts, and the in-process transport answers as the server would."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from langsmith_sandbox import FaultRule
from rotator.langsmith import CreateOutcomeUnknownError, LangSmithAuthError
from rotator.ports import SecretTarget, StateStore, StoreError, WriteConflict
from tests.support.in_process import InProcessLangSmith, InProcessTransport
from tests.support.memory import MemorySecretTarget, MemoryStateStore, PendingWrite

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_the_memory_target_versions_and_checks_and_sets_like_kv_v2() -> None:
    target: SecretTarget = MemorySecretTarget("secret/apps/x", now=lambda: T0)
    assert target.read() is None and target.metadata() is None

    with pytest.raises(WriteConflict):
        target.write({"a": 1}, cas=1)
    assert target.write({"a": 1}, cas=0) == 1
    with pytest.raises(WriteConflict) as lost:
        target.write({"a": 2}, cas=0)
    assert lost.value.write_applied is False
    assert target.write({"a": 2}, cas=1) == 2
    target.set_custom_metadata({"rotated_at": "now"})

    stored = target.read()
    assert stored is not None
    assert (stored.data, stored.version, stored.custom_metadata, stored.created_at) == (
        {"a": 2},
        2,
        {"rotated_at": "now"},
        T0,
    )
    metadata = target.metadata()
    assert metadata is not None
    assert (metadata.current_version, metadata.oldest_version, sorted(metadata.versions)) == (2, 1, [1, 2])
    assert target.write_refusal(exists=True) is None


def test_the_memory_doubles_copy_what_goes_in_and_out() -> None:
    target = MemorySecretTarget()
    data: dict[str, object] = {"nested": {"a": 1}}
    target.write({"nested": {"a": 1}}, cas=0)
    stored = target.read()
    assert stored is not None
    stored.data["nested"]["a"] = 2
    assert target.data_at(1) == data

    store = MemoryStateStore()
    document: dict[str, object] = {"list": [1]}
    store.save("doc", {"list": [1]}, version=0)
    loaded, version = store.load("doc")
    assert (loaded, version) == (document, 1)
    assert loaded is not None
    loaded["list"].append(2)
    assert store.peek("doc") == (document, 1)


def test_the_memory_store_checks_and_sets_each_document() -> None:
    store: StateStore = MemoryStateStore()
    assert store.load("doc") == (None, 0)
    assert store.save("doc", {"n": 1}, version=0) == 1
    with pytest.raises(WriteConflict):
        store.save("doc", {"n": 2}, version=0)
    assert store.save("doc", {"n": 2}, version=1) == 2
    assert store.save("other", {"n": 1}, version=0) == 1
    assert store.load("doc") == ({"n": 2}, 2)


def test_injected_failures_say_whether_the_write_was_applied() -> None:
    target = MemorySecretTarget()
    target.refuse_writes()
    with pytest.raises(StoreError) as refused:
        target.write({"a": 1}, cas=0)
    assert (refused.value.write_applied, target.version) == (False, 0)

    target.lose_write_answers(landed=True)
    with pytest.raises(StoreError) as landed:
        target.write({"a": 1}, cas=0)
    assert (landed.value.write_applied, target.version) == (None, 1)

    target.lose_write_answers(landed=False)
    with pytest.raises(StoreError) as lost:
        target.write({"a": 2}, cas=1)
    assert (lost.value.write_applied, target.version) == (None, 1)

    target.fail_reads(2)
    for _ in range(2):
        with pytest.raises(StoreError) as unreadable:
            target.read()
        assert unreadable.value.transient
    assert target.read() is not None

    target.refusal = "no"
    assert target.write_refusal(exists=True) == "no"


def test_the_hook_before_each_write_may_write_itself_without_running_again() -> None:
    store = MemoryStateStore()
    seen: list[PendingWrite] = []

    def racer(pending: PendingWrite) -> None:
        seen.append(pending)
        store.save(pending.name, {"by": "racer"}, version=pending.cas)

    store.before_write = racer
    store.refuse_writes()  # the actor's write, not the racer's
    with pytest.raises(StoreError):
        store.save("doc", {"by": "actor"}, version=0)
    assert store.peek("doc") == ({"by": "racer"}, 1)
    assert seen == [PendingWrite("doc", {"by": "actor"}, 0)]


def test_the_in_process_transport_drops_connections_and_times_out_as_the_server_would() -> None:
    langsmith = InProcessLangSmith.seeded()
    path = "/api/v1/orgs/current/service-keys"
    with langsmith.client() as client:
        before = len(client.list_org_service_keys())
        langsmith.state.faults.add(FaultRule(path=path, method="POST", drop_connection=True, when="after", times=1))
        with pytest.raises(CreateOutcomeUnknownError, match="RemoteProtocolError"):
            client.create_org_service_key(description="x", expires_at=None, workspace_ids=None)
        langsmith.state.faults.add(FaultRule(path=path, method="POST", latency_seconds=11, times=1))
        with pytest.raises(CreateOutcomeUnknownError, match="ReadTimeout"):
            client.create_org_service_key(description="y", expires_at=None, workspace_ids=None)
        assert len(client.list_org_service_keys()) == before + 2, "both creates landed"
    with langsmith.client("lsv2_sk_" + "0" * 32 + "_" + "0" * 10) as stranger, pytest.raises(LangSmithAuthError):
        stranger.org_info()


def test_the_in_process_transport_passes_headers_and_bodies() -> None:
    langsmith = InProcessLangSmith.seeded()
    with httpx.Client(transport=InProcessTransport(langsmith.state), base_url="https://in-process.invalid") as http:
        response = http.get("/api/v1/orgs/current/info", headers={"X-API-Key": langsmith.org.admin.secret})
        refused = http.post("/api/v1/orgs/current/service-keys", headers=langsmith.org.org_headers(), content=b"{")
    assert response.status_code == 200 and response.json()["id"] == langsmith.org.org_id
    assert response.headers["content-type"] == "application/json"
    assert refused.status_code == 422

"""The rotation window: keys are created and deleted only inside it; outside, the cycle still monitors, and
the managed key keeps its label in the metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from langsmith_sandbox import SandboxServer
from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.bootstrap import build_services
from rotator.config import RotationWindowSettings, Settings
from rotator.cycle import Rotator
from rotator.domain.outcome import Result
from rotator.metrics import Metrics
from rotator.vault.kv import KvStore
from tests.support.orgs import SANDBOX_T0, SmallOrg

THURSDAY_NOON = SANDBOX_T0  # 2026-01-15 12:00 UTC
DAY = timedelta(days=1)


def window(**fields: Any) -> RotationWindowSettings:
    return RotationWindowSettings.model_validate(fields)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (datetime(2026, 1, 15, 9, 0, tzinfo=UTC), True),  # start is inside
        (datetime(2026, 1, 15, 8, 59, 59, tzinfo=UTC), False),
        (datetime(2026, 1, 15, 16, 59, 59, tzinfo=UTC), True),
        (datetime(2026, 1, 15, 17, 0, tzinfo=UTC), False),  # end is outside
        (datetime(2026, 1, 16, 12, 0, tzinfo=UTC), False),  # a Friday
        (datetime(2026, 1, 12, 12, 0, tzinfo=UTC), True),  # a Monday
    ],
)
def test_weekday_office_hours(moment: datetime, inside: bool) -> None:
    assert window(days=["mon", "thu"], start="09:00", end="17:00").to_window().contains(moment) is inside


def test_a_window_to_midnight_includes_the_last_minute() -> None:
    until_midnight = window(days=["thu"], start="22:00", end="24:00").to_window()
    assert until_midnight.contains(datetime(2026, 1, 15, 23, 59, 59, tzinfo=UTC))
    assert not until_midnight.contains(datetime(2026, 1, 16, 0, 0, tzinfo=UTC))
    assert window().to_window().contains(THURSDAY_NOON), "the default window is always"


def test_a_window_crossing_midnight_is_refused() -> None:
    with pytest.raises(ValueError, match="later than start"):
        window(start="22:00", end="06:00")


def runtime(server: SandboxServer, org: SmallOrg, bao: OpenBaoDevServer, *, prefix: str, key_id: str) -> Rotator:
    settings = Settings.model_validate(
        {
            "orgs": [
                {
                    "name": "acme",
                    "endpoint": server.api_url,
                    "organization_id": org.org_id,
                    "api_key": {"env": "WINDOW_TEST_ADMIN"},
                }
            ],
            "vault": {
                "address": bao.address,
                "auth": {"method": "token", "token": {"env": "WINDOW_TEST_TOKEN"}},
                "state_prefix": f"{prefix}/state",
            },
            "managed": [{"name": "chatbot", "org": "acme", "path": f"{prefix}/chatbot", "adopt": {"key_id": key_id}}],
            "rotation_window": {"days": ["thu"], "start": "09:00", "end": "17:00"},
        }
    )
    environ = {"WINDOW_TEST_ADMIN": org.admin.secret, "WINDOW_TEST_TOKEN": bao.root_token}
    return Rotator(build_services(settings, environ, now=server.state.clock.now, metrics=Metrics()))


def test_keys_change_only_inside_the_window_and_are_watched_outside_it(
    sandbox: SandboxServer,
    small_org: SmallOrg,
    openbao: OpenBaoDevServer,
    openbao_kv: KvStore,
    kv_prefix: str,
) -> None:
    sandbox_state = sandbox.state
    clock = sandbox_state.clock
    clock.set(THURSDAY_NOON - timedelta(hours=4))  # 08:00: before the window opens
    old = sandbox_state.add_service_key(
        small_org.org_id,
        description="chatbot prod",
        created_at=clock.now() - 70 * DAY,
        expires_at=clock.now() + 20 * DAY,
    )
    openbao_kv.write(f"{kv_prefix}/chatbot", {"api_key": old.secret, "key_id": old.id}, cas=0)
    keys_before = {key.id for key in sandbox_state.all_keys()}

    early = runtime(sandbox, small_org, openbao, prefix=kv_prefix, key_id=old.id)
    [outcome] = early.run_cycle().outcomes
    early.services.gate.release()

    assert outcome.result is Result.SKIPPED and "outside the rotation window" in outcome.message
    assert {key.id for key in sandbox_state.all_keys()} == keys_before
    assert early.services.metrics is not None
    assert (
        early.services.metrics.registry.get_sample_value(
            "langsmith_rotator_key_expiry_timestamp_seconds",
            {"org": "acme", "description": "chatbot prod", "kind": "service_key", "managed": ""},
        )
        == (clock.now() + 20 * DAY).timestamp()
    ), "watched outside the window"

    clock.set(THURSDAY_NOON)
    inside = runtime(sandbox, small_org, openbao, prefix=kv_prefix, key_id=old.id)
    [outcome] = inside.run_cycle().outcomes
    inside.services.gate.release()
    assert outcome.result is Result.ROTATED, outcome.message
    [new_id] = {key.id for key in sandbox_state.all_keys()} - keys_before

    clock.set(THURSDAY_NOON + timedelta(hours=6))  # 18:00: closed again
    late = runtime(sandbox, small_org, openbao, prefix=kv_prefix, key_id=old.id)
    [outcome] = late.run_cycle().outcomes
    late.services.gate.release()
    assert outcome.result is Result.SKIPPED
    assert outcome.key_id == new_id and outcome.retiring_key_ids == (old.id,), "the journal still says who is who"
    assert late.services.metrics is not None
    samples = {
        (s.labels["description"], s.labels["managed"]): s.value
        for family in late.services.metrics.registry.collect()
        for s in family.samples
        if s.name == "langsmith_rotator_key_expiry_timestamp_seconds"
    }
    new = sandbox_state.key(new_id)
    assert new is not None and new.expires_at is not None
    assert samples[("chatbot prod", "chatbot")] == new.expires_at.timestamp()
    assert ("chatbot prod", "") not in samples, "the retiring key stays out of the metrics outside the window"

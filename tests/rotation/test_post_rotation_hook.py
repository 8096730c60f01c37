"""A post-rotation hook: a webhook sink limited to `rotation_succeeded` events gets one signed POST per rotation,
naming the secret and its new key, so a team can trigger its own rollout; a receiver that fails is retried,
and never holds up the rotation. The managed key's own expiry warning does not reach it."""

from __future__ import annotations

from typing import Any

from rotator.alerts.webhook import SIGNATURE_HEADER, signature
from rotator.bootstrap import build_services
from rotator.config import Settings
from rotator.cycle import Rotator
from rotator.rotation import Result
from tests.support.receivers import Receiver, Reply
from tests.support.rotation_world import World, assert_i1

HMAC = "post-rotation-hook-secret-0123456789"


def hook_config(world: World, managed: dict[str, Any]) -> dict[str, Any]:
    return {
        **world.config(managed),
        "alerts": {
            "sinks": [
                {
                    "type": "webhook",
                    "name": "rollout",
                    "url": {"env": "HOOK_URL"},
                    "hmac_secret": {"env": "HOOK_HMAC"},
                    "min_severity": "info",
                    "filters": {"conditions": ["rotation_succeeded"]},
                }
            ]
        },
    }


def test_a_rotation_posts_one_signed_event_to_the_hook_even_through_a_failure(world: World) -> None:
    old = world.managed_key()  # due, and near enough expiry that its own warning fires
    receiver = Receiver().start()
    receiver.script(Reply(503))  # the first attempt fails: the dispatch retries it
    try:
        settings = Settings.model_validate(hook_config(world, world.managed(key=old)))
        environ = {**world.credentials(), "HOOK_URL": f"{receiver.url}/hooks/rollout", "HOOK_HMAC": HMAC}
        rotator = Rotator(build_services(settings, environ, now=world.state.clock.now))
        try:
            result = rotator.run_cycle()
        finally:
            rotator.close()

        [outcome] = result.outcomes
        assert outcome.result is Result.ROTATED, outcome.message
        new = assert_i1(world)
        assert result.undelivered == {}
        first, second = receiver.wait_for(2)
        assert first.body == second.body, "the same event, sent again after the 503"
        assert second.headers[SIGNATURE_HEADER] == signature(HMAC, second.body)
        event = second.json()
        assert (event["action"], event["alert"]["kind"]) == ("trigger", "rotation_succeeded")
        assert event["alert"]["managed"] == "chatbot"
        assert event["alert"]["details"]["key_id"] == new.id
        assert len(receiver.requests) == 2, "only the rotation: the key's expiry warning is filtered out"
    finally:
        receiver.stop()

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rotator.alerts import HttpOptions, SinkRejectedError, SlackSink
from rotator.alerts.slack import slack_messages
from rotator.domain.alerts import Severity
from tests.support.alerts import NOW, SLACK_PATH, key_alert, resolve, trigger
from tests.support.clocks import FakeClock
from tests.support.receivers import Receiver, Reply


@pytest.fixture
def slack(receiver: Receiver, fake_clock_http: HttpOptions) -> Iterator[SlackSink]:
    sink = SlackSink(webhook_url=receiver.url + SLACK_PATH, http=fake_clock_http)
    yield sink
    sink.close()


def _texts(message: dict[str, Any]) -> str:
    """Every text the message shows, flattened."""
    out = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields", [])]
        out += [e["text"] for e in block.get("elements", [])]
    return "\n".join(out)


def test_trigger_is_an_incoming_webhook_message_with_header_facts_and_action(
    slack: SlackSink, receiver: Receiver
) -> None:
    alert = key_alert(severity=Severity.CRITICAL)
    slack.send([trigger(alert)], [alert], now=NOW)

    [request] = receiver.requests
    assert request.method == "POST" and request.path == SLACK_PATH
    assert request.headers["Content-Type"] == "application/json"
    message = request.json()
    assert set(message) == {"text", "blocks"}
    assert isinstance(message["text"], str) and "CRITICAL" in message["text"]
    header, section, action, context = message["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert header["text"]["text"].startswith(":rotating_light: CRITICAL: LangSmith service key 'chatbot prod'")
    assert len(header["text"]["text"]) <= 150
    assert section["type"] == "section"
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in section["fields"]}
    assert fields == {
        "*Org*": "prod-us",
        "*Key*": "chatbot prod",
        "*Short key*": "lsv2_sk_3f1c...",
        "*Kind*": "service_key",
        "*Workspaces*": "production, staging",
        "*Managed as*": "chatbot-prod",
        "*Expires*": "2026-01-20T12:00:00+00:00",
    }
    assert all(f["type"] == "mrkdwn" for f in section["fields"]) and len(section["fields"]) <= 10
    assert action["text"]["text"] == f"*What to do*\n{alert.action}"
    assert context["type"] == "context" and alert.id in context["elements"][0]["text"]


def test_resolve_says_resolved_and_drops_the_action(slack: SlackSink, receiver: Receiver) -> None:
    alert = key_alert()
    slack.send([resolve(alert)], [], now=NOW)

    message = receiver.requests[0].json()
    text = _texts(message)
    assert message["text"].startswith("[RESOLVED]")
    assert message["blocks"][0]["text"]["text"].startswith(":white_check_mark: RESOLVED:")
    assert "resolved" in text.lower()
    assert "What to do" not in text and alert.action not in text


def test_repeat_says_still_firing(slack: SlackSink, receiver: Receiver) -> None:
    slack.send([trigger(key_alert(), repeat=True)], [], now=NOW)
    assert "Still firing: " in receiver.requests[0].json()["text"]


def test_mrkdwn_control_characters_are_escaped_so_a_description_cannot_ping_the_channel(
    slack: SlackSink, receiver: Receiver
) -> None:
    slack.send([trigger(key_alert(description="<!channel> & <https://evil|click>"))], [], now=NOW)

    message = receiver.requests[0].json()
    parsed = _texts({**message, "blocks": message["blocks"][1:]})  # all but the header, which is plain_text
    assert "<!channel>" not in parsed and "<https://evil" not in parsed
    assert "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;" in parsed


def test_messages_are_spaced_by_the_rate_limit(
    slack: SlackSink, receiver: Receiver, fake_clock: FakeClock[float]
) -> None:
    alerts = [key_alert(description=f"key {i}") for i in range(3)]
    slack.send([trigger(a) for a in alerts], [], now=NOW)
    assert len(receiver.requests) == 3
    assert fake_clock.sleeps == [pytest.approx(1.0), pytest.approx(1.0)]

    fake_clock.now += 0.25  # the next cycle comes soon after: the first message still waits its turn
    slack.send([trigger(key_alert(description="key 3"))], [], now=NOW)
    assert len(receiver.requests) == 4
    assert fake_clock.sleeps[-1] == pytest.approx(0.75)


def test_past_max_messages_the_least_urgent_are_folded_into_one_digest() -> None:
    notifications = [trigger(key_alert(description=f"warn {i}")) for i in range(5)]
    notifications += [resolve(key_alert(description="gone"))]
    notifications += [trigger(key_alert(description="crit", severity=Severity.CRITICAL))]

    messages = [message for message, _ in slack_messages(notifications, max_messages=3)]

    assert len(messages) == 3
    assert "CRITICAL" in messages[0]["text"] and "'crit'" in messages[0]["text"]  # most urgent first
    digest = messages[2]
    assert digest["text"] == "5 more LangSmith key alerts"
    lines = "\n".join(b["text"]["text"] for b in digest["blocks"][1:]).splitlines()
    assert len(lines) == 5 and lines[-1].startswith("• *RESOLVED*")  # resolves last


def test_a_huge_digest_stays_within_slacks_50_blocks() -> None:
    notifications = [trigger(key_alert(description=f"key {i} " + "x" * 400)) for i in range(600)]
    [(digest, carried)] = slack_messages(notifications, max_messages=1)
    assert len(carried) == 600, "the digest carries every notification, so a failed post retries them all"
    assert len(digest["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in digest["blocks"])
    assert "more: see the rotator's" in digest["blocks"][-1]["text"]["text"]


def test_a_rejected_webhook_is_not_retried_and_the_error_masks_the_path(slack: SlackSink, receiver: Receiver) -> None:
    receiver.script(Reply(404, "no_service"))
    with pytest.raises(SinkRejectedError) as raised:
        slack.send([trigger(key_alert())], [], now=NOW)

    assert len(receiver.requests) == 1
    assert raised.value.status == 404
    assert str(raised.value) == f"slack: {receiver.url}/*** answered 404: no_service"
    assert "Secret" not in repr(raised.value) and "Secret" not in repr(slack)


def test_a_failed_message_does_not_stop_the_others(slack: SlackSink, receiver: Receiver) -> None:
    receiver.script(Reply(400, "invalid_blocks"))
    with pytest.raises(SinkRejectedError, match=r"\[1 of 2 messages failed\]"):
        slack.send([trigger(key_alert(description=f"k{i}")) for i in range(2)], [], now=NOW)
    assert len(receiver.requests) == 2

from __future__ import annotations

import hashlib
import hmac

from rotator.alerts import HttpOptions, WebhookSink
from rotator.alerts.webhook import SIGNATURE_HEADER
from rotator.domain.alerts import Severity
from tests.support.alerts import HMAC_SECRET, NOW, WEBHOOK_PATH, key_alert, resolve, trigger
from tests.support.receivers import Receiver


def _verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute over the raw body and compare in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def test_body_has_the_version_1_shape_and_a_verifiable_signature(receiver: Receiver) -> None:
    alert = key_alert(severity=Severity.CRITICAL)
    with_secret = WebhookSink(url=receiver.url + WEBHOOK_PATH, hmac_secret=HMAC_SECRET, http=HttpOptions(timeout=5))
    try:
        with_secret.send([trigger(alert, repeat=True), resolve(alert)], [alert], now=NOW)
    finally:
        with_secret.close()

    fired, cleared = receiver.requests
    assert fired.path == WEBHOOK_PATH
    body = fired.json()
    assert body == {
        "version": "1",
        "action": "trigger",
        "repeat": True,
        "reason": None,
        "alert": {
            "id": alert.id,
            "kind": "key_expiry",
            "severity": "critical",
            "summary": alert.summary,
            "action": alert.action,
            "details": dict(alert.details),
            "org": "prod-us",
            "key_kind": "service_key",
            "managed": "chatbot-prod",
            "key_id": alert.key_id,
            "labels": {},
        },
        "sent_at": "2026-01-15T12:00:00.000Z",
    }
    assert cleared.json()["action"] == "resolve" and cleared.json()["alert"]["id"] == alert.id
    for request in (fired, cleared):
        assert _verify(HMAC_SECRET, request.body, request.headers[SIGNATURE_HEADER])
        assert not _verify(HMAC_SECRET, request.body + b" ", request.headers[SIGNATURE_HEADER])
        assert not _verify("another-secret-of-some-length", request.body, request.headers[SIGNATURE_HEADER])


def test_unsigned_without_a_secret(receiver: Receiver) -> None:
    sink = WebhookSink(url=receiver.url + WEBHOOK_PATH, http=HttpOptions(timeout=5))
    try:
        sink.send([trigger(key_alert())], [], now=NOW)
    finally:
        sink.close()
    assert SIGNATURE_HEADER not in receiver.requests[0].headers
    assert receiver.requests[0].json()["version"] == "1"

from datetime import UTC, datetime

import pytest

from rotator.domain.journal import JournalError, Rotation, SecretState, from_document, to_document
from rotator.domain.keys import AccessScope
from rotator.domain.rotation import Phase, ReplacementSpec

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
SPEC = ReplacementSpec("chatbot", AccessScope.WORKSPACE, ("w1", "w2"), ("production", "staging"), "r", None, NOW)


def test_round_trip_through_a_json_document() -> None:
    state = SecretState(
        current_key_id="old",
        rotation=Rotation("rot", Phase.CREATED, NOW, "old", SPEC, target_version=3, new_key_id="new"),
        failures=2,
        next_attempt_at=NOW,
        last_error="boom",
        history=("older",),
    )
    document = to_document(state)
    assert document["schema"] == 1
    assert document["rotation"]["phase"] == "created"
    assert from_document(document) == state


@pytest.mark.parametrize(
    "document",
    [
        {"schema": 2},
        {"schema": 1, "rotation": {"id": "x"}},
        {
            "schema": 1,
            "rotation": {
                **to_document(SecretState(rotation=Rotation("r", Phase.INTENT, NOW, "o", SPEC, 0)))["rotation"],
                "phase": "weird",
            },
        },
        {"schema": 1, "next_attempt_at": "2026-11-26T12:00:00"},
    ],
    ids=["schema", "missing-fields", "unknown-phase", "naive-time"],
)
def test_a_damaged_journal_is_an_error_not_a_guess(document: dict[str, object]) -> None:
    with pytest.raises(JournalError):
        from_document(document)

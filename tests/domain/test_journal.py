from datetime import UTC, datetime

import pytest

from rotator.domain.journal import (
    Fingerprint,
    JournalError,
    Retiring,
    Rotation,
    SecretState,
    from_document,
    to_document,
)
from rotator.domain.keys import AccessScope
from rotator.domain.rotation import Phase, ReplacementSpec

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
SPEC = ReplacementSpec("chatbot", AccessScope.WORKSPACE, ("w1", "w2"), ("production", "staging"), "r", None, NOW)


def test_round_trip_through_a_json_document() -> None:
    state = SecretState(
        current_key_id="old",
        rotation=Rotation("rot", Phase.CREATED, NOW, "old", SPEC, target_version=3, new_key_id="new", revoke_old=True),
        retiring=(Retiring("older", "old", NOW, "rot-0", adopted_original=True, hold_reported=True),),
        unresolved=(Fingerprint("chatbot", NOW, NOW),),
        failures=2,
        next_attempt_at=NOW,
        last_error="boom",
        history=("older",),
    )
    document = to_document(state)
    assert document["schema"] == 2
    assert document["rotation"]["phase"] == "created"
    assert from_document(document) == state


@pytest.mark.parametrize(
    "document",
    [
        {"schema": 3},
        {"schema": 2, "rotation": {"id": "x"}},
        {"schema": 2, "retiring": [{"key_id": "x"}]},
        {"schema": 2, "unresolved": ["not an object"]},
        {
            "schema": 1,
            "rotation": {
                **to_document(SecretState(rotation=Rotation("r", Phase.INTENT, NOW, "o", SPEC, 0)))["rotation"],
                "phase": "weird",
            },
        },
        {"schema": 1, "next_attempt_at": "2026-11-26T12:00:00"},
    ],
    ids=["schema", "missing-fields", "retiring-missing-fields", "unresolved-not-object", "unknown-phase", "naive-time"],
)
def test_a_damaged_journal_is_an_error_not_a_guess(document: dict[str, object]) -> None:
    with pytest.raises(JournalError):
        from_document(document)


def test_a_schema_1_journal_with_a_promoted_rotation_becomes_a_retiring_key() -> None:
    """Journals written before old keys waited apart from the rotation in flight are read, not refused."""
    v1_rotation = {
        **to_document(SecretState(rotation=Rotation("rot", Phase.CREATED, NOW, "old", SPEC, 3, "new")))["rotation"],
        "phase": "promoted",
        "promoted_at": NOW.isoformat(),
        "stored_version": 4,
        "hold_reported": True,
    }
    state = from_document({"schema": 1, "current_key_id": "new", "rotation": v1_rotation, "history": ["a"]})
    assert state.rotation is None
    assert state.retiring == (Retiring("old", "new", NOW, "rot", hold_reported=True),)
    assert (state.current_key_id, state.history) == ("new", ("a",))


def test_known_key_ids_name_every_key_the_journal_holds() -> None:
    state = SecretState(
        current_key_id="cur",
        rotation=Rotation("r", Phase.CREATED, NOW, "cur", SPEC, 0, new_key_id="new"),
        retiring=(Retiring("old", "cur", NOW, "r0"),),
        history=("older",),
    )
    assert state.known_key_ids() == {"cur", "new", "old", "older"}

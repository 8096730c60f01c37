"""How each problem is worded: its place from pydantic's ``loc`` alone, a config path or an environment variable."""

from __future__ import annotations

import pytest
from pydantic_core import ErrorDetails

from rotator.config import ConfigError, load_settings
from rotator.config.environment import ENV_FIELD_NAMES, ENV_WORDS
from rotator.config.messages import config_path, describe


def _error(loc: tuple[str | int, ...], msg: str, type_: str = "value_error") -> ErrorDetails:
    return {"type": type_, "loc": loc, "msg": msg, "input": None}


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("alerts", "sinks", 1, "url"), "alerts.sinks[1].url"),
        (("managed", 0), "managed[0]"),
        (("poll_interval",), "poll_interval"),
        ((), ""),
    ],
)
def test_a_location_is_spelled_as_the_config_file_writes_it(loc: tuple[str | int, ...], expected: str) -> None:
    assert config_path(loc) == expected


def test_the_place_comes_from_the_location_never_from_the_message() -> None:
    error = _error(("orgs", 0), "Value error, watch: looks like a field")
    assert describe(error, {}, {}) == "orgs[0]: watch: looks like a field"


def test_a_problem_with_the_whole_config_is_placed_at_config() -> None:
    assert describe(_error((), "is empty"), {}, {}) == "config: is empty"


def test_a_mappings_key_at_fault_is_named() -> None:
    error = _error(("alerts", "labels", "team-name", "[key]"), "Value error, not a Prometheus label name")
    assert describe(error, {}, {}) == "alerts.labels.team-name: the name 'team-name': not a Prometheus label name"


def test_unknown_and_missing_fields_are_worded_plainly() -> None:
    assert describe(_error(("orgs", 1, "colour"), "Extra inputs", "extra_forbidden"), {}, {}) == (
        "orgs[1].colour: unknown field"
    )
    assert describe(_error(("orgs",), "Field required", "missing"), {}, {}) == "orgs: required field is missing"


def test_a_field_taken_from_the_environment_is_named_by_its_variable() -> None:
    error = _error(("orgs", 0, "fallback_workspace_id"), "used only when neither id is set", "config_problem")
    assert describe(error, ENV_FIELD_NAMES, ENV_WORDS) == "LANGSMITH_WORKSPACE_ID: used only when neither id is set"


def test_an_environment_setting_names_its_variable_and_its_advice() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"LANGSMITH_API_KEY": "k", "LANGSMITH_ENDPOINT": "http://ls.corp.example/api/v1"})
    assert caught.value.problems == [
        "LANGSMITH_ENDPOINT: plain http:// to ls.corp.example would send the API key unencrypted; "
        "use https:// or set LANGSMITH_ALLOW_INSECURE_HTTP=true"
    ]


def test_an_invalid_organization_id_in_the_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"LANGSMITH_ORGANIZATION_ID": "not-a-uuid"})
    (problem,) = caught.value.problems
    assert problem.startswith("LANGSMITH_ORGANIZATION_ID: Input should be a valid UUID"), problem


def test_from_a_file_the_field_is_named_and_the_advice_kept() -> None:
    assert describe(_error(("orgs", 0, "endpoint"), "set allow_insecure_http: true"), {}, {}) == (
        "orgs[0].endpoint: set allow_insecure_http: true"
    )

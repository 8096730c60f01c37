"""Structured locations: a validator names the fields it finds at fault, and pydantic places them from the top."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import pytest
from pydantic import ValidationError, model_validator

from rotator.config import ConfigProblem, Settings
from rotator.config.errors import PROBLEM_TYPE, invalid
from rotator.config.fields import StrictModel
from tests.support.config_files import ORG, ORG_ID, managed, problems


class _Leaf(StrictModel):
    size: int = 0

    @model_validator(mode="after")
    def _not_negative(self) -> Self:
        if self.size < 0:
            raise invalid(_Leaf, ConfigProblem(("size",), "must not be negative"), ConfigProblem((), "is withered"))
        return self


class _Tree(StrictModel):
    leaves: list[_Leaf] = []


def test_each_problem_is_at_its_location_under_the_validated_model() -> None:
    with pytest.raises(ValidationError) as caught:
        _Tree.model_validate({"leaves": [{}, {"size": -1}]})
    assert [(e["loc"], e["msg"], e["type"]) for e in caught.value.errors()] == [
        (("leaves", 1, "size"), "must not be negative", PROBLEM_TYPE),
        (("leaves", 1), "is withered", PROBLEM_TYPE),
    ]


def test_raised_on_its_own_the_locations_are_as_given() -> None:
    error = invalid(_Tree, ConfigProblem(("leaves", 0, "size"), "must not be negative"))
    assert error.title == "_Tree"
    assert [(e["loc"], e["msg"]) for e in error.errors()] == [(("leaves", 0, "size"), "must not be negative")]


def test_messages_are_kept_as_written_even_with_braces() -> None:
    (detail,) = invalid(_Tree, ConfigProblem(("leaves",), "no {size} here: {0}")).errors()
    assert detail["msg"] == "no {size} here: {0}"


def test_a_problem_needs_at_least_one_problem() -> None:
    with pytest.raises(TypeError):
        invalid(_Tree)


def test_a_nested_secret_refs_problem_names_its_whole_path(tmp_path: Path) -> None:
    sinks = "[{type: slack, webhook_url: {env: A}}, {type: webhook, url: {env: A, file: /x}}]"
    assert problems(tmp_path, f"orgs: [{ORG}]\nalerts: {{sinks: {sinks}}}\n") == [
        "alerts.sinks[1].webhook.url.env: give exactly one of env, file or vault"
    ]


def test_a_nested_model_validator_reports_several_fields_of_one_sink(tmp_path: Path) -> None:
    alertmanager = (
        "{type: alertmanager, url: 'http://a', headers: {authorization: x}, bearer_token: {env: T}, "
        "basic_auth: {username: u, password: {env: P}}}"
    )
    text = f"orgs: [{ORG}]\nalerts: {{sinks: [{{type: slack, webhook_url: {{env: A}}}}, {alertmanager}]}}\n"
    assert problems(tmp_path, text) == [
        "alerts.sinks[1].alertmanager.bearer_token: give bearer_token or basic_auth, not both",
        "alerts.sinks[1].alertmanager.headers: Authorization is set by bearer_token or basic_auth; do not repeat it",
    ]


def test_model_validate_reports_nested_locations_without_the_loader() -> None:
    config = {
        "orgs": [{"name": "a", "organization_id": ORG_ID}],
        "policy": {"warn_before": "1d", "critical_before": "2d"},
        "rotation_window": {"start": "10:00", "end": "09:00"},
    }
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(config)
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [
        (("policy", "critical_before"), PROBLEM_TYPE),
        (("rotation_window", "end"), PROBLEM_TYPE),
    ]


def test_the_domains_timing_problems_land_on_their_fields(tmp_path: Path) -> None:
    entry = "{name: bot, org: acme, path: p, adopt: {description: b}, lifetime: 30d, grace_period: 12d, max_grace: 12d}"
    found = problems(tmp_path, managed(entry))
    assert [p.partition(": ")[0] for p in found] == ["managed[0].grace_period", "managed[0].max_grace"]

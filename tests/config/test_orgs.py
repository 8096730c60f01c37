"""Organizations: endpoints, ids, admin keys, their expiry policy and HTTP settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rotator.config import load_settings
from tests.support.config_files import ORG, ORG_ID, problems, write


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"orgs: [{ORG}, {{name: b, organization_id: {ORG_ID}, colour: red}}]\n",
            "orgs[1].colour: unknown field",
        ),
        (
            f"orgs: [{ORG}]\npolicy: {{warn_before: 3 weeks}}\n",
            "policy.warn_before: '3 weeks' is not a duration",
        ),
        (f"orgs: [{ORG}]\npolicy: {{warn_before: 14}}\n", "policy.warn_before: 14 is not a duration"),
        (
            f"orgs: [{ORG}]\npolicy: {{warn_before: 7d, critical_before: 14d}}\n",
            "policy.critical_before: must not be longer than warn_before",
        ),
        (f"orgs: [{ORG}]\npolicy: {{max_age: 0}}\n", "policy.max_age: must be longer than 0"),
        (
            f"orgs: [{ORG}]\nhttp: {{max_attempts: 0}}\n",
            "http.max_attempts: Input should be greater than or equal to 1",
        ),
        (
            f"orgs: [{ORG}]\nhttp: {{max_attempts: many}}\n",
            "http.max_attempts: Input should be a valid integer",
        ),
        (f"orgs: [{{name: Prod US, organization_id: {ORG_ID}}}]\n", "orgs[0].name: use lowercase letters"),
        ("orgs: [{name: a, organization_id: 42}]\n", "orgs[0].organization_id: UUID input should be"),
        (
            f"orgs: [{{name: a, organization_id: {ORG_ID}, fallback_workspace_id: {ORG_ID}}}]\n",
            "orgs[0].fallback_workspace_id: used only when neither organization_id nor workspace_id is set",
        ),
        (
            f"orgs: [{{name: a, organization_id: {ORG_ID}, endpoint: 'smith.langchain.com'}}]\n",
            "orgs[0].endpoint: 'smith.langchain.com' is not an http(s) URL",
        ),
        (
            f"orgs: [{{name: a, organization_id: {ORG_ID}, endpoint: 'http://ls.corp.example/api/v1'}}]\n",
            "orgs[0].endpoint: plain http:// to ls.corp.example would send the API key unencrypted",
        ),
        (
            f"orgs: [{{name: a, organization_id: {ORG_ID}, api_key: {{env: 'NOT A NAME'}}}}]\n",
            "orgs[0].api_key.env: String should match pattern",
        ),
        (
            f"orgs: [{{name: a, organization_id: {ORG_ID}, allow_insecure_http: maybe}}]\n",
            "orgs[0].allow_insecure_http: Input should be a valid boolean",
        ),
        (
            f"orgs: [{{name: a, organization_id: {ORG_ID}, policy: {{warn_before: soon}}}}]\n",
            "orgs[0].policy.warn_before: 'soon' is not a duration",
        ),
    ],
)
def test_malformed_config_names_field_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    assert any(p.startswith(expected) for p in problems(tmp_path, text)), problems(tmp_path, text)


def test_plain_http_allowed_when_config_says_so(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"orgs: [{{name: a, organization_id: {ORG_ID}, endpoint: 'http://ls.corp.example/api/v1', "
        "allow_insecure_http: true}]\n",
    )
    assert load_settings(path, environ={}).orgs[0].endpoint == "http://ls.corp.example"


def test_an_org_without_ids_is_discovered_from_its_key(tmp_path: Path) -> None:
    (org,) = load_settings(write(tmp_path, "orgs: [{name: a}]\n"), environ={}).orgs
    assert org.discovered


def test_zero_retry_time_means_no_retries(tmp_path: Path) -> None:
    path = write(tmp_path, f"orgs: [{ORG}]\nhttp: {{max_retry_time: 0}}\n")
    assert load_settings(path, environ={}).http.max_retry_time == timedelta(0)

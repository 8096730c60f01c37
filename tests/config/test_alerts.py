"""Alert settings: sinks, their filters and authorization, and static labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.config_files import ORG, problems


@pytest.mark.parametrize(
    ("alerts", "expected"),
    [
        ("{sinks: [{type: email}]}", "alerts.sinks[0]: Input tag 'email' found using 'type'"),
        ("{sinks: [{type: slack}]}", "alerts.sinks[0].slack.webhook_url: required field is missing"),
        ("{sinks: [{type: slack, webhook_url: {env: A}, min_severity: loud}]}", "alerts.sinks[0].slack.min_severity:"),
        (
            "{sinks: [{type: alertmanager, url: 'http://a'}, {type: alertmanager, url: 'http://b'}]}",
            "alerts.sinks: give sinks of the same type distinct names",
        ),
        ("{renotify_interval: often}", "alerts.renotify_interval: 'often' is not a duration"),
        (
            "{sinks: [{type: webhook, url: {env: A}, filters: {kinds: [robot]}}]}",
            "alerts.sinks[0].webhook.filters.kinds[0]: Input should be",
        ),
        (
            "{sinks: [{type: slack, webhook_url: {env: A}, min_severity: error}]}",
            "alerts.sinks[0].slack.min_severity: Input should be 'info', 'warning' or 'critical'",
        ),
        ("{labels: {severity: high}}", "alerts.labels.severity: the name 'severity': set by the rotator on every"),
        (
            "{labels: {team-name: sre}}",
            "alerts.labels.team-name: the name 'team-name': not a Prometheus label name",
        ),
        ("{labels: {team: ''}}", "alerts.labels.team: must not be empty"),
        ("{external_url: 'grafana.example.com'}", "alerts.external_url: must be an http(s) URL"),
        ("{alertmanager: {expected_interval: 0}}", "alerts.alertmanager.expected_interval: must be longer than 0"),
        (
            "{sinks: [{type: alertmanager, url: 'http://a', bearer_token: {env: T}, basic_auth: "
            "{username: u, password: {env: P}}}]}",
            "alerts.sinks[0].alertmanager.bearer_token: give bearer_token or basic_auth, not both",
        ),
        (
            "{sinks: [{type: alertmanager, url: 'http://a', bearer_token: {env: T}, headers: {Authorization: x}}]}",
            "alerts.sinks[0].alertmanager.headers: Authorization is set by bearer_token or basic_auth",
        ),
        (
            "{sinks: [{type: alertmanager, url: 'http://a', headers: {'X Scope': tenant}}]}",
            "alerts.sinks[0].alertmanager.headers.X Scope: the name 'X Scope': String should match pattern",
        ),
    ],
)
def test_malformed_alert_sinks_name_the_field(tmp_path: Path, alerts: str, expected: str) -> None:
    found = problems(tmp_path, f"orgs: [{ORG}]\nalerts: {alerts}\n")
    assert any(p.startswith(expected) for p in found), found

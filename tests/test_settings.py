from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from rotator.settings import ConfigError, Settings, load_settings

CONFIG_DIR = Path(__file__).parent.parent / "config"
ORG_ID = "00000000-0000-4000-8000-000000000001"
DAY = timedelta(days=1)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rotator.yaml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    return caught.value.problems


@pytest.mark.parametrize("example", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_config_loads(example: Path) -> None:
    settings = load_settings(example, environ={})
    assert settings.orgs
    assert all(org.endpoint.startswith("https://") for org in settings.orgs)


def test_multi_region_example_normalizes_self_hosted_endpoint_and_keeps_overrides() -> None:
    settings = load_settings(CONFIG_DIR / "multi-region.yaml", environ={})
    by_name = {org.name: org for org in settings.orgs}
    assert by_name["research-selfhosted"].endpoint == "https://langsmith.internal.example.com"
    assert by_name["acme-eu"].endpoint == "https://eu.api.smith.langchain.com"
    assert settings.policy_for(by_name["research-selfhosted"]).warn_before == timedelta(days=14)
    assert settings.policy_for(by_name["acme-us"]).warn_before == timedelta(days=30)


def test_defaults_from_environment_only() -> None:
    settings = load_settings(environ={"LANGSMITH_API_KEY": "x", "LANGSMITH_ORGANIZATION_ID": ORG_ID})
    (org,) = settings.orgs
    assert org.endpoint == "https://api.smith.langchain.com"
    assert str(org.organization_id) == ORG_ID
    assert org.api_key.env == "LANGSMITH_API_KEY"
    policy = settings.policy_for(org)
    assert (policy.warn_before, policy.critical_before, policy.max_age) == (
        timedelta(days=21),
        timedelta(days=7),
        timedelta(days=90),
    )
    assert settings.poll_interval == timedelta(minutes=15)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("https://eu.api.smith.langchain.com/", "https://eu.api.smith.langchain.com"),
        ("https://aws.api.smith.langchain.com/api/v1", "https://aws.api.smith.langchain.com"),
        ("http://127.0.0.1:1984/api/v1/", "http://127.0.0.1:1984"),
        ("http://localhost:8080/api", "http://localhost:8080"),
    ],
)
def test_endpoint_from_environment_is_normalized(endpoint: str, expected: str) -> None:
    env = {"LANGSMITH_ENDPOINT": endpoint, "LANGSMITH_WORKSPACE_ID": ORG_ID}
    assert load_settings(environ=env).orgs[0].endpoint == expected


def test_environment_errors_name_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"LANGSMITH_ENDPOINT": "ftp://x", "LANGSMITH_ORGANIZATION_ID": "not-a-uuid"})
    text = str(caught.value)
    assert "config error: LANGSMITH_ENDPOINT: 'ftp://x' is not an http(s) URL" in text
    assert "config error: LANGSMITH_ORGANIZATION_ID: " in text


def test_config_file_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, f"orgs: [{{name: a, organization_id: {ORG_ID}}}]\n")
    assert load_settings(environ={"ROTATOR_CONFIG": str(path)}).orgs[0].name == "a"


ORG = f"{{name: a, organization_id: {ORG_ID}}}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"orgs: [{ORG}]\nsurprise: 1\n", "surprise: unknown field"),
        (
            f"orgs: [{ORG}, {{name: b, organization_id: {ORG_ID}, colour: red}}]\n",
            "orgs[1].colour: unknown field",
        ),
        ("orgs: []\n", "orgs: List should have at least 1 item"),
        ("policy: {}\n", "orgs: required field is missing"),
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
        (f"orgs: [{ORG}]\npoll_interval: 5s\n", "poll_interval: must be at least 10s"),
        (
            f"orgs: [{ORG}]\nhttp: {{max_attempts: 0}}\n",
            "http.max_attempts: Input should be greater than or equal to 1",
        ),
        (
            f"orgs: [{ORG}]\nhttp: {{max_attempts: many}}\n",
            "http.max_attempts: Input should be a valid integer",
        ),
        (f"orgs: [{ORG}, {ORG}]\n", "orgs: org names must be unique; repeated: a"),
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


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, "orgs: [{name: A}]\npoll_interval: x\n")
    assert any(p.startswith("poll_interval:") for p in found)
    assert any(p.startswith("orgs[0].name:") for p in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("orgs: [\n", "line 2: not valid YAML"),
        ("- just\n- a list\n", "the top level must be a mapping"),
        ("", "the top level must be a mapping"),
    ],
)
def test_unreadable_yaml_names_the_file(tmp_path: Path, text: str, expected: str) -> None:
    (problem,) = problems(tmp_path, text)
    assert problem.startswith(str(tmp_path / "rotator.yaml"))
    assert expected in problem


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_missing_admin_key_names_the_variable_and_the_org() -> None:
    settings = load_settings(environ={"LANGSMITH_ORGANIZATION_ID": ORG_ID})
    with pytest.raises(
        ConfigError,
        match=r"LANGSMITH_API_KEY: environment variable is not set or empty \(needed by org 'default'\)",
    ):
        settings.orgs[0].api_key.resolve({"LANGSMITH_API_KEY": "  "}, needed_by="org 'default'")


MANAGED_BASE = f"""
orgs:
  - {{name: acme, organization_id: {ORG_ID}}}
  - {{name: team, workspace_id: {ORG_ID}}}
vault: {{address: "http://127.0.0.1:8200"}}
"""


def managed(entry: str) -> str:
    return MANAGED_BASE + f"managed:\n  - {entry}\n"


def test_managed_example_has_vault_auth_adoption_and_grace() -> None:
    settings = load_settings(CONFIG_DIR / "managed-rotation.yaml", environ={})
    assert settings.vault is not None
    assert settings.vault.auth.method == "kubernetes"
    chatbot, eval_runner = settings.managed
    assert (chatbot.adopt.description, chatbot.rotate_before, chatbot.grace_period) == (
        "chatbot-prod",
        timedelta(days=14),
        timedelta(hours=24),
    )
    assert (eval_runner.field, eval_runner.lifetime, eval_runner.grace_period) == (
        "LANGSMITH_API_KEY",
        timedelta(days=90),
        timedelta(hours=24),
    )
    assert settings.orgs[0].api_key.vault is not None
    assert [sink.type for sink in settings.alerts.sinks] == ["slack", "pagerduty", "alertmanager"]
    assert settings.rotation_window is not None
    window = settings.rotation_window.to_window()
    assert (window.weekdays, window.start_minute, window.end_minute) == (frozenset({0, 1, 2, 3}), 540, 1020)


def test_vault_settings_default_from_the_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        managed("{name: bot, org: acme, path: langsmith/bot, adopt: {description: bot}}").replace(
            'vault: {address: "http://127.0.0.1:8200"}\n', ""
        ),
    )
    settings = load_settings(path, environ={"VAULT_ADDR": "https://vault.example:8200/", "VAULT_NAMESPACE": "team-a"})
    assert settings.vault is not None
    assert (settings.vault.address, settings.vault.namespace) == ("https://vault.example:8200", "team-a")
    assert settings.vault.auth.method == "token"
    (secret,) = settings.managed
    assert (secret.field, secret.grace_period, secret.max_grace) == ("api_key", timedelta(hours=24), timedelta(days=7))


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{name: bot, org: nope, path: p, adopt: {description: bot}}", "managed[0].org: no org named 'nope'"),
        (
            "{name: bot, org: team, path: p, adopt: {description: bot}}",
            "managed[0].org: org 'team' needs organization_id",
        ),
        (
            "{name: bot, org: acme, path: p, adopt: {}}",
            "managed[0].adopt.key_id: give exactly one of key_id or description",
        ),
        ("{name: bot, org: acme, path: p, adopt: {key_id: 1, description: x}}", "managed[0].adopt.key_id: UUID"),
        ("{name: bot, org: acme, path: /p/, adopt: {description: b}}", "managed[0].path: '/p/' has an empty"),
        (
            "{name: bot, org: acme, path: p, adopt: {description: b}, grace_period: 2d, max_grace: 1d}",
            "managed[0].max_grace: must not be shorter than grace_period",
        ),
        (
            "{name: bot, org: acme, path: p, adopt: {description: b}, lifetime: 1h}",
            "managed[0].lifetime: must be at least 1d",
        ),
        ("{name: Bot, org: acme, path: p, adopt: {description: b}}", "managed[0].name: use lowercase letters"),
        ("{name: bot, org: acme, path: p, adopt: {description: b}, grace: 1d}", "managed[0].grace: unknown field"),
        ("{name: bot, org: acme, adopt: {description: b}}", "managed[0].path: required field is missing"),
    ],
)
def test_malformed_managed_secret_names_field(tmp_path: Path, entry: str, expected: str) -> None:
    found = problems(tmp_path, managed(entry))
    assert any(p.startswith(expected) for p in found), found


def test_zero_grace_is_allowed_for_a_leaked_key(tmp_path: Path) -> None:
    path = write(tmp_path, managed("{name: bot, org: acme, path: p, adopt: {description: b}, grace_period: 0}"))
    assert load_settings(path, environ={}).managed[0].grace_period == timedelta(0)


@pytest.mark.parametrize(
    ("vault", "expected"),
    [
        ("{address: vault.example}", "vault.address: 'vault.example' is not an http(s) URL"),
        ('{address: "http://v:8200", auth: {method: ldap}}', "vault.auth: Input tag 'ldap' found using 'method'"),
        (
            '{address: "http://v:8200", auth: {method: approle, role_id: {env: R}}}',
            "vault.auth.approle.secret_id: required",
        ),
        ('{address: "http://v:8200", auth: {method: kubernetes}}', "vault.auth.kubernetes.role: required"),
        (
            '{address: "http://v:8200", auth: {method: token, token: {env: A, file: /t}}}',
            "vault.auth.token.token.env: give exactly one of env, file or vault",
        ),
        ('{address: "http://v:8200", state_prefix: "/bad//prefix"}', "vault.state_prefix: String should match pattern"),
    ],
)
def test_malformed_vault_settings_name_field(tmp_path: Path, vault: str, expected: str) -> None:
    text = MANAGED_BASE.replace('vault: {address: "http://127.0.0.1:8200"}', f"vault: {vault}")
    found = problems(tmp_path, text)
    assert any(p.startswith(expected) for p in found), found


def test_managed_secrets_without_vault_are_an_error(tmp_path: Path) -> None:
    text = (
        f"orgs: [{{name: acme, organization_id: {ORG_ID}}}]\n"
        "managed: [{name: b, org: acme, path: p, adopt: {description: b}}]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    assert any(p.startswith("vault.address: required field is missing") for p in caught.value.problems), (
        caught.value.problems
    )


def test_secret_from_a_file(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("  from-file\n")
    path = write(tmp_path, f"orgs: [{{name: a, organization_id: {ORG_ID}, api_key: {{file: {token}}}}}]\n")
    org = load_settings(path, environ={}).orgs[0]
    assert org.api_key.resolve({}, needed_by="a") == "from-file"
    token.write_text("")
    with pytest.raises(ConfigError, match="file is empty"):
        org.api_key.resolve({}, needed_by="a")


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


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("rotation_window: {start: '17:00', end: '09:00'}", "rotation_window.end: must be later than start"),
        ("rotation_window: {days: [someday]}", "rotation_window.days[0]: Input should be"),
        ("lease: {ttl: 5s}", "lease.ttl: must be at least 15s"),
        ("daemon: {cron: 'every five minutes'}", "daemon.cron: 'every five minutes' is not a crontab line"),
        ("daemon: {listen: nowhere}", "daemon.listen: String should match pattern"),
    ],
)
def test_malformed_runtime_settings_name_the_field(tmp_path: Path, section: str, expected: str) -> None:
    found = problems(tmp_path, f"orgs: [{ORG}]\n{section}\n")
    assert any(p.startswith(expected) for p in found), found


def test_managed_secret_pins_scope_and_roles(tmp_path: Path) -> None:
    text = MANAGED_BASE + (
        "managed:\n"
        "  - {name: org-wide, org: acme, path: a, adopt: {description: a}, scope: organization,\n"
        "     role: Editor, org_role: Organization Viewer}\n"
        "  - {name: two-workspaces, org: acme, path: b, adopt: {description: b}, scope: [Production, Staging],\n"
        f"     role: {ORG_ID}}}\n"
        "  - {name: unpinned, org: acme, path: c, adopt: {description: c}}\n"
    )
    org_wide, two_workspaces, unpinned = load_settings(write(tmp_path, text), environ={}).managed
    assert (org_wide.scope, org_wide.role, org_wide.org_role) == ("organization", "Editor", "Organization Viewer")
    assert (two_workspaces.scope, two_workspaces.role, two_workspaces.org_role) == (
        ["Production", "Staging"],
        ORG_ID,
        None,
    )
    assert (unpinned.scope, unpinned.role, unpinned.org_role) == (None, None, None)


@pytest.mark.parametrize(
    ("pins", "expected"),
    [
        ("role: ''", "managed[0].role: must not be empty"),
        ("org_role: ' '", "managed[0].org_role: must not be empty"),
        ("scope: workspace", "managed[0].scope: write organization, or a list of workspace names"),
        ("scope: []", "managed[0].scope: write organization, or a list of workspace names"),
        ("scope: [Production, '']", "managed[0].scope: write organization, or a list of workspace names"),
        ("scope: [Production, 7]", "managed[0].scope: write organization, or a list of workspace names"),
        ("scope: [a, b, a]", "managed[0].scope: workspace names must be unique; repeated: a"),
        ("scope: [Production], org_role: Organization Admin", "managed[0].org_role: applies only to organization"),
    ],
)
def test_malformed_pins_name_the_field(tmp_path: Path, pins: str, expected: str) -> None:
    found = problems(tmp_path, managed(f"{{name: bot, org: acme, path: p, adopt: {{description: b}}, {pins}}}"))
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        (
            "lifetime: 30d, grace_period: 12d, max_grace: 12d",
            [
                "managed[0].grace_period: 12d is not well below the 20d between one rotation and the next",
                "managed[0].max_grace: 12d is not well below the 20d between one rotation and the next",
            ],
        ),
        (
            "lifetime: 30d, rotate_before: 20d",
            ["managed[0].max_grace: 7d is not well below the 10d between one rotation and the next"],
        ),
        ("lifetime: 30d, rotate_before: 30d", ["managed[0].rotate_before: 30d is not shorter than the key lifetime"]),
        ("lifetime: 30d, rotate_before: 0", ["managed[0].rotate_before: must be longer than 0"]),
        ("rotate_before: 0", ["managed[0].rotate_before: must be longer than 0"]),
        ("lifetime: 3651d", ["managed[0].lifetime: must be at most 3650d"]),
        (
            "lifetime: 1h, grace_period: 2d, max_grace: 1d",
            ["managed[0].max_grace: must not be shorter than grace_period", "managed[0].lifetime: must be at least 1d"],
        ),
    ],
)
def test_timing_without_room_to_finish_is_refused(tmp_path: Path, timing: str, expected: list[str]) -> None:
    found = problems(tmp_path, managed(f"{{name: bot, org: acme, path: p, adopt: {{description: b}}, {timing}}}"))
    assert len(found) == len(expected), found
    for problem, start in zip(found, expected, strict=True):
        assert problem.startswith(start), found


def test_timing_with_room_to_finish_loads(tmp_path: Path) -> None:
    entry = "{name: bot, org: acme, path: p, adopt: {description: b}, lifetime: 30d, grace_period: 5d, max_grace: 10d}"
    (secret,) = load_settings(write(tmp_path, managed(entry)), environ={}).managed
    assert (secret.lifetime, secret.rotate_before, secret.max_grace) == (timedelta(days=30), None, timedelta(days=10))


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("lifetime: 3000000d", "managed[0].lifetime"),
        ("grace_period: 99999999999d", "managed[0].grace_period"),
        ("max_grace: 99999999999999999999w", "managed[0].max_grace"),
        ("rotate_before: 36501d", "managed[0].rotate_before"),
        (f"rotate_before: {'9' * 5000}s", "managed[0].rotate_before"),
    ],
)
def test_huge_managed_durations_are_too_long(tmp_path: Path, setting: str, field: str) -> None:
    found = problems(tmp_path, managed(f"{{name: bot, org: acme, path: p, adopt: {{description: b}}, {setting}}}"))
    assert f"{field}: is too long: durations are at most 36500d (100 years)" in found, found


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("poll_interval: 99999999999d", "poll_interval"),
        ("policy: {max_age: 999999999999999s}", "policy.max_age"),
        ("http: {timeout: 99999999999d}", "http.timeout"),
        ("lease: {ttl: 99999999999d}", "lease.ttl"),
        ("alerts: {renotify_interval: 99999999999d}", "alerts.renotify_interval"),
    ],
)
def test_huge_durations_are_too_long(tmp_path: Path, section: str, field: str) -> None:
    found = problems(tmp_path, f"orgs: [{ORG}]\n{section}\n")
    assert found == [f"{field}: is too long: durations are at most 36500d (100 years)"], found


def test_a_century_is_still_a_duration(tmp_path: Path) -> None:
    path = write(tmp_path, f"orgs: [{ORG}]\npolicy: {{max_age: 36500d}}\n")
    assert load_settings(path, environ={}).policy.max_age == timedelta(days=36500)


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("http: {timeout: 0}", "http.timeout"),
        ("http: {timeout: 0s}", "http.timeout"),
        ('vault: {address: "http://v:8200", timeout: 0}', "vault.timeout"),
        ('vault: {address: "http://v:8200", timeout: 0m}', "vault.timeout"),
    ],
)
def test_zero_timeouts_are_refused(tmp_path: Path, section: str, field: str) -> None:
    assert problems(tmp_path, f"orgs: [{ORG}]\n{section}\n") == [f"{field}: must be longer than 0"]


def test_zero_retry_time_means_no_retries(tmp_path: Path) -> None:
    path = write(tmp_path, f"orgs: [{ORG}]\nhttp: {{max_retry_time: 0}}\n")
    assert load_settings(path, environ={}).http.max_retry_time == timedelta(0)


def test_negative_durations_given_directly_are_refused() -> None:
    with pytest.raises(ValidationError, match="must not be negative"):
        Settings.model_validate({"orgs": [{"name": "a", "organization_id": ORG_ID}], "http": {"timeout": -DAY}})


BAD_PATHS = ["a//b", "a/../b", "./a", "a/.", "..", ".", "/a", "a/", "", "a b", " a", "a\\tb", "a\\x01b", "a\\x7fb"]
VAULT_PLACES = {
    "managed[0].path": lambda bad: managed(f"{{name: b, org: acme, path: {bad}, adopt: {{description: b}}}}"),
    "managed[0].mount": lambda bad: managed(
        f"{{name: b, org: acme, path: p, mount: {bad}, adopt: {{description: b}}}}"
    ),
    "vault.kv_mount": lambda bad: f"orgs: [{ORG}]\nvault: {{address: 'http://v:8200', kv_mount: {bad}}}\n",
    "vault.state_prefix": lambda bad: f"orgs: [{ORG}]\nvault: {{address: 'http://v:8200', state_prefix: {bad}}}\n",
    "vault.auth.kubernetes.mount": lambda bad: (
        f"orgs: [{ORG}]\nvault: {{address: 'http://v:8200', auth: {{method: kubernetes, role: r, mount: {bad}}}}}\n"
    ),
    "orgs[0].api_key.vault.path": lambda bad: (
        f"orgs: [{{name: a, organization_id: {ORG_ID}, api_key: {{vault: {{path: {bad}}}}}}}]\n"
        "vault: {address: 'http://v:8200'}\n"
    ),
    "orgs[0].api_key.vault.mount": lambda bad: (
        f"orgs: [{{name: a, organization_id: {ORG_ID}, api_key: {{vault: {{path: p, mount: {bad}}}}}}}]\n"
        "vault: {address: 'http://v:8200'}\n"
    ),
}


@pytest.mark.parametrize("bad", BAD_PATHS)
@pytest.mark.parametrize("field", VAULT_PLACES)
def test_malformed_vault_paths_name_the_field(tmp_path: Path, field: str, bad: str) -> None:
    found = problems(tmp_path, VAULT_PLACES[field](f'"{bad}"'))
    assert len(found) == 1, found
    assert found[0].startswith(f"{field}: "), found


def test_nested_vault_paths_and_mounts_load(tmp_path: Path) -> None:
    text = (
        f"orgs: [{{name: acme, organization_id: {ORG_ID}, api_key: {{vault: {{path: admin/acme, mount: kv/ops}}}}}}]\n"
        "vault: {address: 'http://v:8200', kv_mount: kv/team-a, state_prefix: rotator/state.v2}\n"
        "managed: [{name: b, org: acme, path: apps/chat-bot.prod/key, mount: kv/apps, adopt: {description: b}}]\n"
    )
    settings = load_settings(write(tmp_path, text), environ={})
    assert settings.vault is not None
    assert (settings.vault.kv_mount, settings.vault.state_prefix) == ("kv/team-a", "rotator/state.v2")
    assert (settings.managed[0].mount, settings.managed[0].path) == ("kv/apps", "apps/chat-bot.prod/key")


def test_one_vault_place_written_two_ways_is_refused(tmp_path: Path) -> None:
    text = MANAGED_BASE + (
        "managed:\n"
        "  - {name: a, org: acme, path: apps/x, mount: secret, adopt: {description: a}}\n"
        "  - {name: b, org: acme, path: apps/x, mount: other, adopt: {description: b}}\n"
        "  - {name: c, org: acme, path: apps/x, adopt: {description: c}}\n"
    )
    assert problems(tmp_path, text) == [
        "managed: 2 secrets share one Vault path (secret/apps/x: managed[0] and managed[2])"
    ]


def test_same_path_on_other_mounts_is_allowed(tmp_path: Path) -> None:
    text = MANAGED_BASE.replace('8200"}', '8200", kv_mount: kv}') + (
        "managed:\n"
        "  - {name: a, org: acme, path: apps/x, mount: secret, adopt: {description: a}}\n"
        "  - {name: b, org: acme, path: apps/x, adopt: {description: b}}\n"
    )
    assert [s.mount for s in load_settings(write(tmp_path, text), environ={}).managed] == ["secret", None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"orgs: [{ORG}]\nmanaged: []\npolicy: {{}}\nmanaged: []\n",
            ["line 4: duplicate key 'managed' (also on line 2; the earlier one would be silently ignored)"],
        ),
        (
            f"orgs:\n  - name: a\n    organization_id: {ORG_ID}\n    name: b\n",
            ["line 4: duplicate key 'name' (also on line 2; the earlier one would be silently ignored)"],
        ),
        (
            f"orgs: [{ORG}]\npolicy: {{warn_before: 1d, 'warn_before': 2d}}\nhttp: {{timeout: 1s, timeout: 2s}}\n",
            [
                "line 2: duplicate key 'warn_before' (also on line 2; the earlier one would be silently ignored)",
                "line 3: duplicate key 'timeout' (also on line 3; the earlier one would be silently ignored)",
            ],
        ),
    ],
)
def test_duplicate_yaml_keys_are_refused(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert problems(tmp_path, text) == [f"{tmp_path / 'rotator.yaml'}: {line}" for line in expected]


def test_yaml_merge_keys_may_override_what_they_merge(tmp_path: Path) -> None:
    text = f"orgs:\n  - &acme {{name: a, organization_id: {ORG_ID}}}\n  - {{<<: *acme, name: b}}\n"
    assert [org.name for org in load_settings(write(tmp_path, text), environ={}).orgs] == ["a", "b"]


def test_every_cross_field_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = MANAGED_BASE + (
        "managed:\n"
        "  - {name: a, org: nope, path: apps/a, adopt: {description: a}}\n"
        "  - {name: a, org: team, path: apps/b, adopt: {description: b}}\n"
        "  - {name: c, org: acme, path: apps/b, mount: secret, adopt: {description: c}}\n"
    )
    assert problems(tmp_path, text) == [
        "managed[0].org: no org named 'nope' (known: acme, team)",
        "managed[1].org: org 'team' needs organization_id to manage keys",
        "managed: names must be unique; repeated: a",
        "managed: 2 secrets share one Vault path (secret/apps/b: managed[1] and managed[2])",
    ]


def test_cross_field_problems_raise_from_model_validate_with_their_fields() -> None:
    config = {
        "orgs": [{"name": "acme", "organization_id": ORG_ID}],
        "managed": [{"name": "a", "org": "nope", "path": "p", "adopt": {"description": "a"}}],
    }
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(config)
    assert [(e["loc"], e["msg"]) for e in caught.value.errors()] == [
        (("managed", 0, "org"), "no org named 'nope' (known: acme)"),
        (("vault",), "managed secrets and Vault references need vault settings (or VAULT_ADDR)"),
    ]


def test_a_sink_secret_in_vault_takes_vault_settings_from_the_environment(tmp_path: Path) -> None:
    text = f"orgs: [{ORG}]\nalerts: {{sinks: [{{type: slack, webhook_url: {{vault: {{path: hooks/slack}}}}}}]}}\n"
    settings = load_settings(write(tmp_path, text), environ={"VAULT_ADDR": "https://vault.example:8200"})
    assert settings.vault is not None
    assert settings.vault.address == "https://vault.example:8200"
    found = problems(tmp_path, text)
    assert found == ["vault.address: required field is missing"], found


def test_an_org_without_ids_is_discovered_from_its_key(tmp_path: Path) -> None:
    (org,) = load_settings(write(tmp_path, "orgs: [{name: a}]\n"), environ={}).orgs
    assert org.discovered


def test_environment_mode_discovers_and_keeps_the_sdk_workspace_only_as_a_fallback() -> None:
    workspace = "0f0e0d0c-0b0a-4000-8000-000000000001"
    settings = load_settings(None, {"LANGSMITH_API_KEY": "k", "LANGSMITH_WORKSPACE_ID": workspace})
    (org,) = settings.orgs
    assert settings.from_environment and org.discovered
    assert str(org.fallback_workspace_id) == workspace and org.workspace_id is None


def test_environment_mode_speaks_of_variables_for_insecure_http() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"LANGSMITH_API_KEY": "k", "LANGSMITH_ENDPOINT": "http://langsmith.internal/api/v1"})
    (problem,) = caught.value.problems
    assert problem.startswith("LANGSMITH_ENDPOINT:") and "set LANGSMITH_ALLOW_INSECURE_HTTP=true" in problem
    allowed = {"LANGSMITH_API_KEY": "k", "LANGSMITH_ENDPOINT": "http://langsmith.internal/api/v1"}
    assert load_settings(None, {**allowed, "LANGSMITH_ALLOW_INSECURE_HTTP": "true"}).orgs[0].allow_insecure_http

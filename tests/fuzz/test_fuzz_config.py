"""Config files of random shape: every section's fields with values of the wrong type, unknown fields, odd
strings and durations. Loading gives Settings or a ConfigError whose every line names a field; nothing else
escapes (no traceback would reach the user)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rotator.config import ConfigError, load_settings

ORG_ID = "00000000-0000-4000-8000-000000000001"
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["14d", "36h", "0", "-1d", "1d12h", "9" * 30 + "d", "P14D", "http://127.0.0.1:1", "\u0000"]),
)
VALUE = st.recursive(
    ODD,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
SECTIONS = {
    "policy": ["warn_before", "critical_before", "max_age", "surprise"],
    "http": ["timeout", "max_attempts", "max_retry_time"],
    "vault": ["address", "auth", "kv_mount", "state_prefix", "timeout", "namespace"],
    "lease": ["name", "ttl"],
    "daemon": ["listen", "cron", "jitter", "shutdown_timeout"],
    "alerts": ["sinks", "renotify_interval", "labels", "external_url"],
    "rotation_window": ["days", "start", "end"],
}
ORG_FIELDS = [
    "name",
    "endpoint",
    "organization_id",
    "workspace_id",
    "api_key",
    "policy",
    "watch",
    "allow_insecure_http",
]
MANAGED_FIELDS = ["name", "org", "path", "mount", "field", "adopt", "lifetime", "grace_period", "scope", "self"]


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    org: dict[str, Any] = {"name": "acme", "organization_id": ORG_ID, "api_key": {"env": "KEY"}}
    org.update(draw(st.dictionaries(st.sampled_from(ORG_FIELDS), VALUE, max_size=2)))
    config: dict[str, Any] = {"orgs": [org]}
    for section in draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=3, unique=True)):
        config[section] = draw(st.one_of(VALUE, st.dictionaries(st.sampled_from(SECTIONS[section]), VALUE, max_size=3)))
    if draw(st.booleans()):
        entry = {"name": "chatbot", "org": "acme", "path": "langsmith/chatbot", "adopt": {"description": "x"}}
        entry.update(draw(st.dictionaries(st.sampled_from(MANAGED_FIELDS), VALUE, max_size=2)))
        config["managed"] = [entry]
        config.setdefault("vault", {"address": "http://127.0.0.1:8200"})
    return config


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=configs())
def test_any_config_loads_or_names_each_problem(tmp_path: Path, config: dict[str, Any]) -> None:
    path = tmp_path / "rotator.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    problems: list[str] = []
    try:
        load_settings(path, environ={"KEY": "lsv2_sk_fuzz"})
    except ConfigError as error:  # any other exception fails the test
        problems = error.problems
        assert problems, "a refusal says why"
    for line in problems:
        field, _, message = line.partition(": ")
        assert field and message, f"not 'field: problem': {line!r}"

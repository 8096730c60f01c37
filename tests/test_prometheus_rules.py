"""The shipped Prometheus alert rules (deploy/prometheus/): promtool accepts them and their unit tests pass,
the PrometheusRule carries exactly the same groups, every alert says how bad it is and what to do, and the
rules only name metrics and rotation results the daemon really exports.

Without promtool (Debian package ``prometheus``) the promtool tests skip locally and fail when ``CI=true``.
``python -m tests.test_prometheus_rules`` regenerates prometheusrule.yaml from langsmith-rotator.rules.yaml.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from rotator.domain.outcome import Result
from rotator.metrics import PREFIX, Metrics
from tests.support.dependencies import skip_or_fail
from tests.support.kustomize import pod_template, render, the

PROMETHEUS = Path(__file__).parent.parent / "deploy" / "prometheus"
RULES = PROMETHEUS / "langsmith-rotator.rules.yaml"
RULE_TESTS = PROMETHEUS / "langsmith-rotator.rules.test.yaml"
PROMETHEUS_RULE = PROMETHEUS / "prometheusrule.yaml"
JOB = "langsmith-key-rotator"
SEVERITIES = {"warning", "critical"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alerts() -> list[dict[str, Any]]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"] if "alert" in rule]


def promtool(*args: str) -> None:
    """Run promtool in deploy/prometheus (the files name each other relative to it); fail with its output."""
    path = shutil.which("promtool")
    if path is None:
        skip_or_fail("promtool is missing: apt-get install prometheus")
    assert path is not None
    result = subprocess.run([path, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=300, check=False)
    output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 0, f"promtool {' '.join(args)} exited {result.returncode}\n{output}"


def test_promtool_checks_the_rules() -> None:
    promtool("check", "rules", RULES.name)


def test_promtool_unit_tests_pass() -> None:
    promtool("test", "rules", RULE_TESTS.name)


def test_prometheus_rule_carries_exactly_the_plain_rules() -> None:
    resource = load(PROMETHEUS_RULE)
    assert (resource["apiVersion"], resource["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert resource["spec"]["groups"] == load(RULES)["groups"], (
        f"{PROMETHEUS_RULE.name} differs from {RULES.name}: run `python -m tests.test_prometheus_rules`"
    )


def test_every_alert_has_a_severity_a_summary_and_a_description() -> None:
    names = [rule["alert"] for rule in alerts()]
    assert len(names) == len(set(names)), "duplicate alert names"
    for rule in alerts():
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        for annotation in ("summary", "description"):
            assert rule["annotations"].get(annotation, "").strip(), f"{rule['alert']}: no {annotation}"


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for case in load(RULE_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names - firing == set(), "never tested firing"
    assert names - silent == set(), "never tested not firing"


def exported_metric_names() -> set[str]:
    """The series names the daemon's registry exposes, counters with ``_total``, histograms by sample."""
    metrics = Metrics()
    metrics.last_successful_cycle.set(datetime.now(UTC))  # exported only once a cycle succeeded
    names: set[str] = set()
    for family in metrics.registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names |= {f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count")}
        else:
            names.add(family.name)
    return names


def test_rules_name_only_metrics_the_daemon_exports() -> None:
    text = RULES.read_text()
    used = set(re.findall(rf"\b{PREFIX}_[a-z_]+", text))
    assert used, "the rules use no rotator metric"
    assert used - exported_metric_names() == set()


def test_rules_name_only_real_rotation_results() -> None:
    used = {
        value
        for rule in alerts()
        for pattern in re.findall(r'\bresult=~?"([^"]+)"', rule["expr"])
        for value in pattern.split("|")
    }
    assert used, "the rules use no rotation result"
    assert used - {result.value for result in Result} == set()


def test_pod_monitor_scrapes_the_daemon_under_the_job_the_rules_expect() -> None:
    assert f'up{{job="{JOB}"}}' in RULES.read_text()
    daemon = render("daemon")  # deploy/kubernetes/overlays/daemon, with its PodMonitor
    monitor = the(daemon, "PodMonitor")
    pod_labels = pod_template(daemon)["metadata"]["labels"]
    assert pod_labels[monitor["spec"]["jobLabel"]] == JOB
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    ports = pod_template(daemon)["spec"]["containers"][0]["ports"]
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] in {port["name"] for port in ports}


def render_prometheus_rule(current: str, rules: str) -> str:
    """``current`` up to ``spec:``, then the plain file's ``groups:`` onwards, indented under ``spec``."""
    marker = "\nspec:\n"
    head = current[: current.index(marker) + len(marker)]
    groups = rules[rules.index("\ngroups:\n") + 1 :]
    return head + "".join(f"  {line}" if line.strip() else line for line in groups.splitlines(keepends=True))


def test_prometheus_rule_is_rendered_from_the_plain_rules() -> None:
    current = PROMETHEUS_RULE.read_text()
    if current != render_prometheus_rule(current, RULES.read_text()):
        pytest.fail(f"{PROMETHEUS_RULE.name} is stale: run `python -m tests.test_prometheus_rules`")


if __name__ == "__main__":
    PROMETHEUS_RULE.write_text(render_prometheus_rule(PROMETHEUS_RULE.read_text(), RULES.read_text()))
    print(f"wrote {PROMETHEUS_RULE}")

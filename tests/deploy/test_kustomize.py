"""deploy/kubernetes/: a kustomize base and two overlays, ``daemon`` (`rotator run`) and ``cronjob``
(`rotator once`). Each overlay is rendered with a real ``kubectl kustomize``; every object of a core kind is
validated with kubernetes-validate (strict: unknown fields are errors); and the properties that matter are
asserted one by one: the commands are real rotator commands, the config in the ConfigMap loads, the pods run
locked down, the schedule and shutdown timings fit the config, and the network policy lets through exactly
what the config talks to.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import click
import kubernetes_validate
import pytest
import yaml
from apscheduler.triggers.cron import CronTrigger

from rotator.cli import cli
from rotator.config import KubernetesAuthSettings, Settings, load_settings
from tests.support.kustomize import KUBERNETES, pod_template, render, the

# The oldest Kubernetes the manifests promise to work with (CronJob timeZone is GA from 1.27; kubectl 1.32's
# kustomize renders them). kubernetes-validate picks the newest schema not newer than this.
KUBERNETES_VERSION = "1.29"
# Custom resources of the Prometheus Operator: kubernetes-validate ships only the core API's schemas, so these
# are not validated against a schema (checked below by hand and, for the rules, by tests/test_prometheus_rules.py).
NOT_VALIDATED = {("monitoring.coreos.com/v1", "PodMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule")}

SHARED_KINDS = {"ServiceAccount", "ConfigMap", "NetworkPolicy", "PrometheusRule"}
KINDS = {
    "daemon": SHARED_KINDS | {"Deployment", "PodDisruptionBudget", "Service", "PodMonitor"},
    "cronjob": SHARED_KINDS | {"CronJob"},
}
OVERLAYS = sorted(KINDS)
NAME = "langsmith-key-rotator"  # the pods' app.kubernetes.io/name, and the job the alert rules expect
UID = 65532


def parse_cli(args: list[str]) -> tuple[str, click.Context]:
    """Parse ``args`` as the container would run them, without running anything; raises on bad usage."""
    group_ctx = cli.make_context("rotator", list(args))
    name, *rest = group_ctx._protected_args + group_ctx.args
    command = cli.get_command(group_ctx, name)
    assert command is not None, f"no such command: {name}"
    return name, command.make_context(name, rest, parent=group_ctx)


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    containers = pod_template(objects)["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def config_text(objects: list[dict[str, Any]]) -> str:
    return str(the(objects, "ConfigMap")["data"]["rotator.yaml"])


def settings(objects: list[dict[str, Any]], tmp_path: Path) -> Settings:
    """The config in the overlay's generated ConfigMap, loaded as the rotator loads it (no environment)."""
    path = tmp_path / "rotator.yaml"
    path.write_text(config_text(objects))
    return load_settings(path, environ={})


def mounted_from(pod: dict[str, Any], path: PurePosixPath) -> tuple[dict[str, Any], PurePosixPath]:
    """The volume the container's file or directory ``path`` lies in, and ``path`` relative to its mount."""
    mounts = [
        mount
        for mount in pod["spec"]["containers"][0]["volumeMounts"]
        if path == PurePosixPath(mount["mountPath"]) or PurePosixPath(mount["mountPath"]) in path.parents
    ]
    assert len(mounts) == 1, f"{path} is under {len(mounts)} mounts"
    volume = next(volume for volume in pod["spec"]["volumes"] if volume["name"] == mounts[0]["name"])
    return volume, path.relative_to(mounts[0]["mountPath"])


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return bool(selector["matchLabels"]) and selector["matchLabels"].items() <= labels.items()


# ── rendering and validation ───────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlay_renders_exactly_its_objects(overlay: str) -> None:
    objects = render(overlay)
    kinds = [obj["kind"] for obj in objects]
    assert sorted(kinds) == sorted(KINDS[overlay])  # each once
    assert {obj["metadata"]["name"] for obj in objects if obj["kind"] != "ConfigMap"} == {NAME}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_core_object_is_valid_kubernetes(overlay: str) -> None:
    for obj in render(overlay):
        if (obj["apiVersion"], obj["kind"]) in NOT_VALIDATED:
            continue  # a CRD: no schema in kubernetes-validate (see NOT_VALIDATED)
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{overlay}: {obj['kind']}/{obj['metadata']['name']}: {error.message} at {error.path}")


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The validation above is real: a misspelt field is an error, not ignored."""
    deployment = the(render("daemon"), "Deployment")
    misspelt = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_config_map_carries_the_base_config_and_it_loads(overlay: str, tmp_path: Path) -> None:
    objects = render(overlay)
    assert config_text(objects) == (KUBERNETES / "base" / "rotator.yaml").read_text()
    loaded = settings(objects, tmp_path)
    assert loaded.vault is not None
    assert loaded.vault.auth.method == "kubernetes"
    assert loaded.managed, "the example manages no secret"


# ── the pods ───────────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_pods_run_locked_down(overlay: str) -> None:
    pod = pod_template(render(overlay))["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == UID
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for each in pod["containers"]:
        context = each["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] == UID
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert {"cpu", "memory"} <= each["resources"]["requests"].keys()
        assert {"cpu", "memory"} <= each["resources"]["limits"].keys()
    volume, rest = mounted_from({"spec": pod}, PurePosixPath("/tmp"))
    assert (volume.keys() - {"name"}, rest) == ({"emptyDir"}, PurePosixPath("."))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_pods_mount_the_generated_config_where_the_command_reads_it(overlay: str) -> None:
    objects = render(overlay)
    pod = pod_template(objects)
    _name, context = parse_cli(container(objects)["args"])
    config_path = PurePosixPath(context.find_root().params["config"])
    volume, key = mounted_from(pod, config_path)
    assert volume["configMap"]["name"] == the(objects, "ConfigMap")["metadata"]["name"]  # with kustomize's hash
    assert str(key) in the(objects, "ConfigMap")["data"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_pods_log_in_to_vault_as_the_service_account_with_a_vault_audience_token(
    overlay: str, tmp_path: Path
) -> None:
    objects = render(overlay)
    pod = pod_template(objects)
    assert pod["spec"]["serviceAccountName"] == the(objects, "ServiceAccount")["metadata"]["name"]
    loaded = settings(objects, tmp_path)
    assert loaded.vault is not None
    auth = loaded.vault.auth
    assert isinstance(auth, KubernetesAuthSettings)
    volume, key = mounted_from(pod, PurePosixPath(str(auth.jwt_file)))
    [source] = volume["projected"]["sources"]
    assert source["serviceAccountToken"]["path"] == str(key)
    assert source["serviceAccountToken"]["audience"] == "vault"


# ── the daemon ─────────────────────────────────────────────────────────────────────────────────────────────


def test_the_daemon_runs_rotator_run_with_probes_on_its_listen_port(tmp_path: Path) -> None:
    objects = render("daemon")
    each = container(objects)
    name, _context = parse_cli(each["args"])
    assert name == "run"
    [port] = each["ports"]
    assert port["containerPort"] == settings(objects, tmp_path).daemon.listen_address[1]
    assert each["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert each["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert each["startupProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}


def test_the_daemon_is_given_longer_than_its_shutdown_timeout_to_stop(tmp_path: Path) -> None:
    objects = render("daemon")
    shutdown = settings(objects, tmp_path).daemon.shutdown_timeout
    grace = pod_template(objects)["spec"]["terminationGracePeriodSeconds"]
    assert timedelta(seconds=grace) > shutdown


def test_a_disruption_leaves_a_replica_running() -> None:
    objects = render("daemon")
    deployment = the(objects, "Deployment")
    budget = the(objects, "PodDisruptionBudget")["spec"]
    labels = pod_template(objects)["metadata"]["labels"]
    assert selects(budget["selector"], labels)
    assert selects(deployment["spec"]["selector"], labels)
    assert budget["maxUnavailable"] < deployment["spec"]["replicas"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_the_service_and_the_pod_monitor_reach_the_metrics_port_as_the_rules_job() -> None:
    objects = render("daemon")
    labels = pod_template(objects)["metadata"]["labels"]
    port_names = {port["name"] for port in container(objects)["ports"]}
    service = the(objects, "Service")["spec"]
    assert service["selector"].items() <= labels.items()
    assert {port["targetPort"] for port in service["ports"]} <= port_names
    monitor = the(objects, "PodMonitor")["spec"]
    assert selects(monitor["selector"], labels)
    assert labels[monitor["jobLabel"]] == NAME
    assert [(e["port"], e["path"]) for e in monitor["podMetricsEndpoints"]] == [(next(iter(port_names)), "/metrics")]


# ── the CronJob ────────────────────────────────────────────────────────────────────────────────────────────


def test_the_cronjob_runs_rotator_once_and_pushes_its_metrics() -> None:
    name, context = parse_cli(container(render("cronjob"))["args"])
    assert name == "once"
    assert urlsplit(context.params["pushgateway"]).scheme == "http"
    assert context.params["dry_run"] is False


def test_the_cronjob_never_overlaps_and_a_hung_run_ends_before_the_next() -> None:
    cronjob = the(render("cronjob"), "CronJob")["spec"]
    assert cronjob["concurrencyPolicy"] == "Forbid"
    trigger = CronTrigger.from_crontab(cronjob["schedule"], timezone=UTC)
    first = trigger.get_next_fire_time(None, datetime(2026, 1, 5, tzinfo=UTC))
    interval = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) - first
    job = cronjob["jobTemplate"]["spec"]
    assert 0 < cronjob["startingDeadlineSeconds"] < interval.total_seconds()
    assert 0 < job["activeDeadlineSeconds"] < interval.total_seconds()
    assert job["backoffLimit"] == 0  # the next scheduled run is the retry
    assert cronjob["successfulJobsHistoryLimit"] >= 1
    assert cronjob["failedJobsHistoryLimit"] >= 1
    assert job["template"]["spec"]["restartPolicy"] == "Never"


def test_the_cronjob_drops_the_alerts_that_need_a_scraped_daemon() -> None:
    def alert_names(overlay: str) -> list[str]:
        groups = the(render(overlay), "PrometheusRule")["spec"]["groups"]
        return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]

    plain = yaml.safe_load((KUBERNETES.parent / "prometheus" / "langsmith-rotator.rules.yaml").read_text())
    assert alert_names("daemon") == [rule["alert"] for group in plain["groups"] for rule in group["rules"]]
    dropped = {"LangSmithRotatorAbsent", "LangSmithRotatorNoLeaseHolder"}
    assert alert_names("cronjob") == [name for name in alert_names("daemon") if name not in dropped]


# ── the network ────────────────────────────────────────────────────────────────────────────────────────────


def allowed_ports(rules: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {(port["protocol"], port["port"]) for rule in rules for port in rule["ports"]}


def url_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or {"http": 80, "https": 443}[parts.scheme]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_network_policy_allows_only_dns_vault_langsmith_and_the_overlays_own_port(
    overlay: str, tmp_path: Path
) -> None:
    objects = render(overlay)
    policy = the(objects, "NetworkPolicy")["spec"]
    assert selects(policy["podSelector"], pod_template(objects)["metadata"]["labels"])
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    assert all(rule.keys() == {"ports"} for rule in policy["egress"] + policy["ingress"])  # by port alone
    loaded = settings(objects, tmp_path)
    assert loaded.vault is not None
    talks_to = {("UDP", 53), ("TCP", 53), ("TCP", url_port(loaded.vault.address))}
    talks_to |= {("TCP", url_port(org.endpoint)) for org in loaded.orgs}
    assert talks_to == {("UDP", 53), ("TCP", 53), ("TCP", 8200), ("TCP", 443)}
    if overlay == "daemon":
        assert allowed_ports(policy["egress"]) == talks_to
        assert allowed_ports(policy["ingress"]) == {("TCP", loaded.daemon.listen_address[1])}
    else:
        _name, context = parse_cli(container(objects)["args"])
        assert allowed_ports(policy["egress"]) == talks_to | {("TCP", url_port(context.params["pushgateway"]))}
        assert policy["ingress"] == []

"""The shipped manifests parse and call commands and options the CLI really has."""

from pathlib import Path

import click
import yaml

from rotator.cli import cli

DEPLOY = Path(__file__).parent.parent / "deploy"


def parse_cli(args: list[str]) -> tuple[str, click.Context]:
    """Parse ``args`` as the container would run them, without running anything; raises on bad usage."""
    group_ctx = cli.make_context("rotator", list(args))
    name, *rest = group_ctx._protected_args + group_ctx.args
    command = cli.get_command(group_ctx, name)
    assert command is not None, f"no such command: {name}"
    return name, command.make_context(name, rest, parent=group_ctx)


def test_cronjob_runs_a_real_command_with_real_options() -> None:
    manifest = yaml.safe_load((DEPLOY / "kubernetes" / "cronjob-check.yaml").read_text())
    assert manifest["kind"] == "CronJob"
    container = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    name, context = parse_cli(container["args"])
    assert (name, context.params["output"]) == ("check", "json")
    assert {"LANGSMITH_API_KEY", "LANGSMITH_ORGANIZATION_ID"} <= {env["name"] for env in container["env"]}
    assert "value" not in next(env for env in container["env"] if env["name"] == "LANGSMITH_API_KEY")


def test_deployment_runs_the_daemon_with_probes_on_its_port() -> None:
    manifest = yaml.safe_load((DEPLOY / "kubernetes" / "deployment.yaml").read_text())
    pod = manifest["spec"]["template"]["spec"]
    container = pod["containers"][0]
    name, _context = parse_cli(container["args"])
    assert name == "run"
    port = container["ports"][0]["containerPort"]
    assert port == 9464  # daemon.listen's default port
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["terminationGracePeriodSeconds"] > 30  # daemon.shutdown_timeout's default


def test_cronjob_once_pushes_metrics() -> None:
    manifest = yaml.safe_load((DEPLOY / "kubernetes" / "cronjob-once.yaml").read_text())
    container = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    name, context = parse_cli(container["args"])
    assert name == "once"
    assert context.params["pushgateway"].startswith("http://")
    assert manifest["spec"]["concurrencyPolicy"] == "Forbid"

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

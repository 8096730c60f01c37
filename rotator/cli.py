"""Command line: thin wrappers that load settings, call the orchestration, and map results to exit codes.

Exit codes follow the monitoring-plugin convention for every command: 0 ok, 1 warning, 2 critical,
3 unknown (bad usage, bad config, an org that could not be polled).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import click

from rotator import __version__
from rotator.domain.check import CheckReport, ExitCode, build_check_report
from rotator.inventory import client_factory_for, resolve_admin_keys, take_inventory
from rotator.observability import LogFormat, configure_logging, redact_text
from rotator.report.check_output import render_table, report_to_json, table_console
from rotator.settings import ConfigError, Settings, load_settings


@dataclass(frozen=True)
class GlobalOptions:
    config: Path | None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ROTATOR_CONFIG",
    help="YAML config file (several orgs, policy). Default: the LANGSMITH_* environment variables.",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "console"]),
    default="auto",
    show_default=True,
    help="auto is JSON unless stderr is a terminal.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="warning",
    show_default=True,
)
@click.version_option(__version__, prog_name="rotator")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, log_format: str, log_level: str) -> None:
    """Watch LangSmith API keys for expiry, alert before they lapse, rotate service keys into Vault."""
    configure_logging(cast(LogFormat, log_format), log_level)
    ctx.obj = GlobalOptions(config)


@cli.command()
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def check(options: GlobalOptions, output: str) -> None:
    """Poll every configured org once and show each key's expiry status, most urgent first."""
    settings, admin_keys = _load_or_exit(options.config, os.environ)
    report = run_check(settings, admin_keys)
    if output == "json":
        click.echo(json.dumps(report_to_json(report), indent=2))
    else:
        render_table(report, table_console())
    sys.exit(int(report.exit_code))


@cli.command()
def demo() -> None:
    """Start the sandbox LangSmith server with a realistic org and run `check` against it."""
    from rotator.demo import running_demo

    console = table_console()
    with running_demo() as sandbox:
        console.print(f"[bold]Sandbox LangSmith server[/bold] at {sandbox.endpoint}\n")
        report = run_check(sandbox.settings, resolve_admin_keys(sandbox.settings, sandbox.environ))
        render_table(report, console)
    console.print(
        f"\n`rotator check` would exit {int(report.exit_code)} ({report.exit_code.name.lower()}) here: "
        "0 ok, 1 warning or too old, 2 critical or expired, 3 could not tell."
    )


def run_check(settings: Settings, admin_keys: Mapping[str, str]) -> CheckReport:
    inventories = take_inventory(settings.orgs, admin_keys, client_factory_for(settings))
    policies = {org.name: settings.policy_for(org) for org in settings.orgs}
    return build_check_report(inventories, policies, datetime.now(UTC))


def _load_or_exit(config: Path | None, environ: Mapping[str, str]) -> tuple[Settings, dict[str, str]]:
    try:
        settings = load_settings(config, environ)
        return settings, resolve_admin_keys(settings, environ)
    except ConfigError as error:
        click.echo(redact_text(str(error)), err=True)
        sys.exit(int(ExitCode.UNKNOWN))


def main(argv: list[str] | None = None) -> None:
    """Entry point; usage errors exit 3 (unknown), not click's 2, which means critical here."""
    try:
        code = cli.main(args=argv, prog_name="rotator", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        code = int(ExitCode.UNKNOWN)
    except click.Abort:
        code = 130
    sys.exit(code if isinstance(code, int) else 0)

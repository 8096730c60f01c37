"""Command line: thin wrappers that load settings, call the orchestration, and map results to exit codes.

Exit codes follow the monitoring-plugin convention for every command: 0 ok, 1 warning, 2 critical,
3 unknown (bad usage, bad config, an org that could not be polled); and beyond it 5, could not run: something
it depends on is unavailable or refused (Vault down or sealed, a credential file that cannot be read, the listen
address in use or not on this host). Every such failure is one line on stderr naming the cause, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from rotator import __version__
from rotator.domain.exit_codes import ExitCode

if TYPE_CHECKING:
    from rotator.config import ConfigError, ManagedSecretSettings
    from rotator.cycle import CycleResult, Rotator
    from rotator.metrics import Metrics

# Each command imports what it needs when it runs: `rotator --version` loads no adapter, `rotator check` no
# Vault, scheduler, metrics or alert sink it is not configured with.

_DEFAULT_LOG_LEVEL = {"run": "info", "once": "info"}
"""run and once log at info: their logs are the record of what a daemon or a job did. Others log warnings."""


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
    show_default="info for run and once, else warning",
)
@click.version_option(__version__, prog_name="rotator")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, log_format: str, log_level: str | None) -> None:
    """Watch LangSmith API keys for expiry, alert before they lapse, rotate service keys into Vault."""
    from rotator.observability import configure_logging

    level = log_level or _DEFAULT_LOG_LEVEL.get(ctx.invoked_subcommand or "", "warning")
    configure_logging(log_format, level)  # type: ignore[arg-type]  # click.Choice gave one of LogFormat's values
    ctx.obj = GlobalOptions(config)


@cli.command()
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--wide", is_flag=True, help="Show every column of the table, however wide the terminal.")
@click.pass_obj
def check(options: GlobalOptions, output: str, wide: bool) -> None:
    """Poll every configured org once and show each key's expiry status, most urgent first."""
    report = _runtime_or_exit(options.config, os.environ).check()
    if output == "json":
        from rotator.report.check_output import report_to_json

        _echo_json(report_to_json(report))
    else:
        from rotator.report.check_output import render_table, table_console

        render_table(report, table_console(), wide=wide)
    sys.exit(int(report.exit_code))


@cli.command()
@click.argument("name", required=False)
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def status(options: GlobalOptions, name: str | None, output: str) -> None:
    """What each managed secret (or only NAME) is doing: phase, current key, Vault path and version, next due
    time, backoff and last error. Read only: needs no lease, answers while another process rotates.

    Exits 0 when all are fine, 2 when any secret's last run failed or its journal cannot be read.
    """
    runtime = _runtime_or_exit(options.config, os.environ)
    try:
        secrets = [_managed_or_exit(runtime, name)] if name else list(runtime.settings.managed)
        statuses = runtime.status(secrets)
    finally:
        runtime.close()
    if output == "json":
        from rotator.report.status_output import statuses_to_json

        _echo_json(statuses_to_json(statuses))
    else:
        from rotator.report.check_output import table_console
        from rotator.report.status_output import render_statuses

        render_statuses(statuses, table_console())
    sys.exit(int(ExitCode.CRITICAL if any(status.failing for status in statuses) else ExitCode.OK))


_DRY_RUN = click.option("--dry-run", is_flag=True, help="Print what would change and change nothing.")


@cli.command()
@_DRY_RUN
@click.option(
    "--pushgateway",
    metavar="URL",
    envvar="ROTATOR_PUSHGATEWAY",
    help="Push metrics to this Prometheus Pushgateway (push-add: a failed run never erases the last success).",
)
@click.pass_obj
def once(options: GlobalOptions, dry_run: bool, pushgateway: str | None) -> None:
    """One whole cycle: inventory, expiry events, recovery, due rotations, due deletions; then exit.

    Exits 0 when every managed secret is fine, 2 when any rotation failed, 3 when an org could not be polled,
    4 when an alert could not be delivered (it is sent again next run), 5 when it could not run (Vault down).
    A failed --pushgateway push is reported on stderr and leaves the exit code as the cycle set it.
    """
    from rotator.metrics import Metrics, PushError, push_metrics
    from rotator.report.check_output import table_console
    from rotator.report.cycle_output import render_outcomes, render_undelivered

    runtime = _runtime_or_exit(options.config, os.environ, metrics=Metrics())
    try:
        result = runtime.run_cycle(dry_run=dry_run)
    finally:
        runtime.close()
    render_outcomes(result.outcomes, table_console())
    render_undelivered(result.undelivered, table_console())
    if pushgateway and runtime.services.metrics is not None:
        try:
            push_metrics(pushgateway, runtime.services.metrics, instance=runtime.settings.lease.name)
        except PushError as error:  # the cycle's outcome stands: the exit code says how the keys are
            _say(str(error))
    sys.exit(_cycle_exit_code(result))


@cli.command()
@click.option("--listen", metavar="HOST:PORT", help="Address for /metrics, /healthz, /readyz (default daemon.listen).")
@click.pass_obj
def run(options: GlobalOptions, listen: str | None) -> None:
    """Run as a daemon: a cycle at start and on the schedule, until SIGTERM or SIGINT.

    Exits 0 after a clean stop; 5 at once, having done nothing, when it cannot listen or Vault is down.
    """
    from rotator.config import parse_listen
    from rotator.daemon import Daemon
    from rotator.http_server import ListenError
    from rotator.metrics import Metrics

    try:
        address = parse_listen(listen) if listen else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--listen") from None
    runtime = _runtime_or_exit(options.config, os.environ, metrics=Metrics())
    try:
        code = Daemon(runtime, listen=address).run()
    except ListenError as error:
        runtime.close()
        _exit_unavailable(str(error))
    sys.exit(code)


@cli.command()
@click.argument("name")
@_DRY_RUN
@click.option(
    "--revoke-old",
    is_flag=True,
    help="Leak response: make a new key now, store it in Vault, then delete every older key of NAME at once "
    "(the current one and any still in its grace period), without waiting for consumers.",
)
@click.pass_obj
def rotate(options: GlobalOptions, name: str, dry_run: bool, revoke_old: bool) -> None:
    """Rotate the managed secret NAME now, past its due time and any backoff.

    While an old key of NAME still waits out its grace period, this refuses (exit 2) and says what is
    pending; answer a leaked key with --revoke-old.
    """
    from rotator.report.check_output import table_console
    from rotator.report.cycle_output import render_outcomes

    runtime = _runtime_or_exit(options.config, os.environ)
    secret = _managed_or_exit(runtime, name)
    try:
        outcome = runtime.run_secret(secret, dry_run=dry_run, force=True, revoke_old=revoke_old)
    finally:
        runtime.close()
    render_outcomes([outcome], table_console())
    sys.exit(int(ExitCode.OK if outcome.ok else ExitCode.CRITICAL))


@cli.command()
@click.argument("name")
@click.option(
    "--secret-stdin",
    is_flag=True,
    help="Read the adopted key's secret from standard input (one line). Required: a secret never goes on "
    "the command line, where ps and shell history would show it.",
)
@_DRY_RUN
@click.pass_obj
def adopt(options: GlobalOptions, name: str, secret_stdin: bool, dry_run: bool) -> None:
    """Store the existing secret of NAME's adopted key in Vault, so adoption needs no new key.

    The secret must authenticate and be the key that managed[].adopt names (its short_key must match).
    Exits 0 when stored, 2 when refused.
    """
    from rotator.report.check_output import table_console
    from rotator.report.cycle_output import render_outcomes

    if not secret_stdin:
        raise click.UsageError("give --secret-stdin and pipe the secret in", ctx=click.get_current_context())
    runtime = _runtime_or_exit(options.config, os.environ)
    secret = _managed_or_exit(runtime, name)
    value = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not value or any(char.isspace() or not char.isprintable() for char in value):
        runtime.close()
        click.echo("adopt: standard input must hold the key's secret on one line, without spaces", err=True)
        sys.exit(int(ExitCode.UNKNOWN))
    try:
        outcome = runtime.import_secret(secret, value, dry_run=dry_run)
    finally:
        runtime.close()
    render_outcomes([outcome], table_console())
    sys.exit(int(ExitCode.OK if outcome.ok else ExitCode.CRITICAL))


def _managed_or_exit(runtime: Rotator, name: str) -> ManagedSecretSettings:
    from rotator.config import ConfigError

    try:
        return runtime.settings.managed_secret(name)
    except ConfigError as error:
        runtime.close()
        _exit_config_error(error)


def _cycle_exit_code(result: CycleResult) -> int:
    # An undelivered alert outranks the rest: the exit code may be the only way the news gets out.
    if result.undelivered:
        return int(ExitCode.UNDELIVERED)
    if not result.ok:
        return int(ExitCode.CRITICAL)
    return int(ExitCode.UNKNOWN if result.report.failed_orgs else ExitCode.OK)


def _runtime_or_exit(config: Path | None, environ: Mapping[str, str], metrics: Metrics | None = None) -> Rotator:
    from rotator.bootstrap import build_services
    from rotator.config import ConfigError, load_settings
    from rotator.cycle import Rotator
    from rotator.vault.errors import VaultCredentialFileError, VaultUnavailableError

    try:
        settings = load_settings(config, environ)
    except ConfigError as error:
        _exit_config_error(error)
    try:
        runtime = Rotator(build_services(settings, environ, metrics=metrics))
    except ConfigError as error:
        _exit_config_error(error)
    except VaultUnavailableError as error:
        address = settings.vault.address if settings.vault else "?"
        _exit_unavailable(f"Vault outage at {address}: {error}")
    except VaultCredentialFileError as error:
        _exit_unavailable(str(error))
    for note in runtime.services.discovery_notes:
        click.echo(note, err=True)
    return runtime


def _echo_json(document: object) -> None:
    """Indented for a person at a terminal; compact when piped, which the C encoder writes ~10x faster."""
    import json

    click.echo(json.dumps(document, indent=2 if sys.stdout.isatty() else None))


def _exit_config_error(error: ConfigError) -> NoReturn:
    from rotator.observability import redact_text

    click.echo(redact_text(str(error)), err=True)
    sys.exit(int(ExitCode.UNKNOWN))


def _exit_unavailable(message: str) -> NoReturn:
    _say(message)
    sys.exit(int(ExitCode.UNAVAILABLE))


def _say(message: str) -> None:
    """One line on stderr, named after the command: ``rotator run: cannot listen on ...``."""
    from rotator.observability import redact_text

    click.echo(f"{click.get_current_context().command_path}: {redact_text(message)}", err=True)


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

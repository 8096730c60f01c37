"""The embedded default: the sandbox LangSmith server with a realistic org, an OpenBao dev server, and
settings pointing at both. `python -m langsmith_sandbox demo` (`make demo`) shows a check, then a managed key
rotated into Vault."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from rich.console import Console
from rich.table import Table

from langsmith_sandbox import DEMO_SEED, SandboxServer, SandboxState, load_seed_file
from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.bootstrap import build_services
from rotator.config import Settings
from rotator.cycle import Rotator
from rotator.observability import configure_logging
from rotator.report.check_output import render_table, table_console
from rotator.report.cycle_output import render_outcomes
from rotator.report.status_output import render_statuses

MANAGED_NAME = "prod-tracing"
MANAGED_PATH = "langsmith/prod-tracing"
GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class Demo:
    runtime: Rotator
    """Reads the sandbox's clock, so moving that clock moves the rotator's too."""
    endpoint: str
    vault_address: str
    sandbox: SandboxState


@contextmanager
def running_demo() -> Iterator[Demo]:
    """Org "Acme" watched through its org-admin key, Alice's PATs through her own PAT, and the critical
    "prod-tracing" key managed: already in Vault, as a team would have stored it by hand."""
    state = SandboxState()
    revealed = load_seed_file(state, DEMO_SEED).revealed
    admin, alice, managed = revealed["rotator"], revealed["alice-laptop"], revealed[MANAGED_NAME]
    with SandboxServer(state) as server, OpenBaoDevServer() as bao:
        org = {"endpoint": server.api_url, "organization_id": admin.organization_id}
        settings = Settings.model_validate(
            {
                "orgs": [
                    {"name": "acme", **org, "api_key": {"env": "DEMO_ACME_ADMIN_KEY"}},
                    {
                        "name": "acme-alice",
                        **org,
                        "api_key": {"env": "DEMO_ALICE_PAT"},
                        "watch": ["personal_access_tokens"],
                    },
                ],
                "vault": {"address": bao.address, "auth": {"method": "token", "token": {"env": "DEMO_VAULT_TOKEN"}}},
                "managed": [
                    {
                        "name": MANAGED_NAME,
                        "org": "acme",
                        "path": MANAGED_PATH,
                        "adopt": {"key_id": managed.id},
                        "grace_period": "24h",
                    }
                ],
            }
        )
        environ = {
            "DEMO_ACME_ADMIN_KEY": admin.secret,
            "DEMO_ALICE_PAT": alice.secret,
            "DEMO_VAULT_TOKEN": bao.root_token,
        }
        runtime = Rotator(build_services(settings, environ, now=state.clock.now))
        target = runtime.services.targets(runtime.settings.managed_secret(MANAGED_NAME))
        target.write({"api_key": managed.secret, "key_id": managed.id}, cas=0)
        try:
            yield Demo(runtime, server.api_url, bao.address, state)
        finally:
            runtime.close()


def main() -> int:
    """The demo command. It logs only at critical level: it tells its own story on stdout, which would otherwise
    interleave with the alerts it raises on purpose. Exits 0, or 130 when interrupted."""
    configure_logging("auto", "critical")
    try:
        run_demo(table_console())
    except KeyboardInterrupt:  # both servers have stopped by now: their context managers saw it go by
        return 130
    return 0


def run_demo(console: Console) -> None:
    with running_demo() as demo:
        console.print(f"[bold]Sandbox LangSmith server[/bold] at {demo.endpoint}")
        console.print(f"[bold]OpenBao dev server[/bold] at {demo.vault_address}\n")
        runtime = demo.runtime
        report = runtime.check()
        render_table(report, console)
        console.print(
            f"`rotator check` would exit {int(report.exit_code)} ({report.exit_code.name.lower()}): "
            "0 ok, 1 warning or too old, 2 critical or expired, 3 could not tell.\n"
        )
        console.rule(f"Managed secret {MANAGED_NAME}: before")
        _show_secret(console, runtime)

        console.rule("rotator once")
        render_outcomes(runtime.run_cycle().outcomes, console)
        console.rule(f"rotator status {MANAGED_NAME}: the old key waits out its grace period")
        render_statuses(runtime.status([runtime.settings.managed_secret(MANAGED_NAME)]), console)

        demo.sandbox.clock.advance(GRACE + timedelta(minutes=5))
        console.rule(f"rotator once, {GRACE.total_seconds() / 3600:.0f}h later: the grace period is over")
        render_outcomes(runtime.run_cycle().outcomes, console)

        console.rule(f"Managed secret {MANAGED_NAME}: after")
        _show_secret(console, runtime)


def _show_secret(console: Console, runtime: Rotator) -> None:
    """What Vault holds at the managed path, and whether LangSmith still lists the keys involved."""
    target = runtime.services.targets(runtime.settings.managed_secret(MANAGED_NAME))
    stored = target.read()
    if stored is None:
        raise RuntimeError(f"Vault holds nothing at {target.name}: the demo seeds the managed secret there")
    org = runtime.settings.org_named("acme")
    with runtime.services.build_client(org, runtime.services.admin_keys["acme"]) as admin:
        listed = {key.id: key for key in admin.list_org_service_keys()}
    table = Table(show_header=False, box=None)
    table.add_row("Vault", f"{target.name}, version {stored.version}")
    key_id = str(stored.data.get("key_id"))
    key = listed.get(key_id)
    table.add_row("key in Vault", f"{key_id} ({key.short_key if key else 'not listed'})")
    table.add_row("  expires", f"{key.expires_at:%Y-%m-%d %H:%M} UTC" if key and key.expires_at else "-")
    for name, value in sorted(stored.custom_metadata.items()):
        table.add_row(f"  metadata {name}", value)
    previous = stored.custom_metadata.get("previous_key_id")
    if previous:
        table.add_row("previous key", f"{previous}: {'still in LangSmith' if previous in listed else 'deleted'}")
    console.print(table)

"""The composition root: Settings and the environment in, a frozen bundle of services out.

This is the one place that reads the config to build adapters; each adapter takes its own options. Nothing
here talks to LangSmith or Vault except to discover an org entry given without ids and to read each org's
admin key (so a missing one is reported at start, not at the first poll).

The Vault adapter (hvac) is imported only for a config that has Vault: a plain `rotator check` never loads it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from rotator.alerting import Alerting
from rotator.bootstrap.langsmith import client_factory, request_budgets
from rotator.bootstrap.sinks import build_sinks
from rotator.config import ConfigError, OrgSettings, Settings
from rotator.discovery import SettingNames, discover
from rotator.gate import RotationGate
from rotator.inventory import ClientFactory
from rotator.langsmith import LangSmithClient
from rotator.langsmith.client import http_connections
from rotator.schedule import alert_hold_time
from rotator.secrets import Credential, SecretResolver
from rotator.services import Clock, Services
from rotator.state import DeliveryStateStore, JournalStore, Lease, new_holder_id
from rotator.state.layout import LAYOUT

if TYPE_CHECKING:
    from rotator.metrics import Metrics
    from rotator.ports import SecretTarget, StateStore
    from rotator.vault.kv import KvStore
    from rotator.vault.session import VaultSession

__all__ = ["build_services", "utc_now"]

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_services(
    settings: Settings, environ: Mapping[str, str], *, now: Clock = utc_now, metrics: Metrics | None = None
) -> Services:
    """Raises ConfigError for a mistake in the config or the environment, naming the field; a Vault that
    cannot answer raises its own error (an outage, not a mistake)."""
    plain = SecretResolver(environ)
    vault = _connect_vault(settings, plain)
    kv = functools.partial(_kv, vault, settings)
    secrets = plain.with_vault(kv)
    admin_keys = _admin_keys(settings, secrets)
    connections = http_connections(timeout=settings.http.timeout.total_seconds())
    build_client = client_factory(
        settings.http,
        connections,
        request_budgets(settings.http, admin_keys),
        metrics.observe_request if metrics is not None else None,
    )
    settings, notes = _discover_orgs(settings, admin_keys, build_client)
    state = _state_store(kv(None), settings.vault.state_prefix) if vault and settings.vault else None
    dispatcher = build_sinks(
        settings.alerts,
        secrets,
        on_delivery=metrics.observe_delivery if metrics is not None else None,
        alertmanager_resolve_timeout=alert_hold_time(settings),
        generator_url=settings.alerts.external_url,
    )
    lease = None
    if state is not None and settings.managed:
        lease = Lease(state, name=LAYOUT.lease(settings.lease.name), ttl=settings.lease.ttl, now=now)
    window = settings.rotation_window.to_window() if settings.rotation_window is not None else None
    return Services(
        settings=settings,
        now=now,
        metrics=metrics,
        admin_keys=admin_keys,
        build_client=build_client,
        langsmith_connections=connections,
        vault=vault,
        journals=JournalStore(state) if state is not None else None,
        gate=RotationGate(lease=lease, window=window, now=now),
        dispatcher=dispatcher,
        alerting=Alerting(
            dispatcher,
            DeliveryStateStore(state) if state is not None else None,
            holder=lease.holder if lease is not None else new_holder_id(),
            renotify_interval=settings.alerts.renotify_interval,
            labels=settings.alerts.labels,
        ),
        targets=lambda secret: _target(kv(secret.mount), secret.path),
        discovery_notes=tuple(notes),
    )


def _connect_vault(settings: Settings, secrets: SecretResolver) -> VaultSession | None:
    if settings.vault is None:
        return None
    from rotator.bootstrap.vault import connect_vault

    return connect_vault(settings.vault, secrets)


def _kv(vault: VaultSession | None, settings: Settings, mount: str | None) -> KvStore:
    """The KV v2 store of ``mount`` (the configured ``vault.kv_mount`` when None)."""
    if vault is None or settings.vault is None:
        raise ConfigError(["vault: not configured"])
    from rotator.vault.kv import KvStore

    return KvStore(vault, mount=mount or settings.vault.kv_mount)


def _state_store(kv: KvStore, prefix: str) -> StateStore:
    from rotator.vault.state_store import VaultStateStore

    return VaultStateStore(kv, prefix)


def _target(kv: KvStore, path: str) -> SecretTarget:
    from rotator.vault.target import VaultSecretTarget

    return VaultSecretTarget(kv, path)


def _admin_keys(settings: Settings, secrets: SecretResolver) -> dict[str, Credential]:
    keys, problems = {}, []
    for index, org in enumerate(settings.orgs):
        needed_by = "the rotator, as its admin key" if settings.from_environment else f"orgs[{index}].api_key"
        try:
            keys[org.name] = secrets.credential(org.api_key, needed_by)
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return keys


def _discover_orgs(
    settings: Settings, admin_keys: Mapping[str, Credential], build_client: ClientFactory
) -> tuple[Settings, list[str]]:
    if not any(org.discovered for org in settings.orgs):
        return settings, []
    orgs, notes = [], []
    for index, org in enumerate(settings.orgs):
        if not org.discovered:
            orgs.append(org)
            continue
        names = SettingNames.environment() if settings.from_environment else SettingNames.config(index)
        key = admin_keys[org.name]

        def client_for(entry: OrgSettings, key: Credential = key) -> LangSmithClient:
            return build_client(entry, key)

        found = discover(org, client_for, names)
        log.info("org.discovered", org=org.name, mode=found.words)
        notes.append(found.words)
        orgs.append(found.org)
    return settings.model_copy(update={"orgs": orgs}), notes

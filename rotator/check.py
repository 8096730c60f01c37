"""`rotator check`: one inventory of every org, assessed against its policy, with the keys the config and each
managed secret's journal name. Read only, so no lease is needed."""

from __future__ import annotations

import structlog

from rotator.admin_clients import AdminClients
from rotator.domain.check import CheckReport, ManagedKeys, RetiringMark, build_check_report
from rotator.domain.journal import JournalError
from rotator.inventory import take_inventory
from rotator.observability import redact_text
from rotator.ports import StoreError
from rotator.services import Services

log = structlog.get_logger(__name__)


def check(services: Services, clients: AdminClients | None = None) -> CheckReport:
    """``clients``: the cycle's admin clients, whose reads the cycle's sagas share; else the check's own."""
    settings = services.settings
    if clients is None:
        with AdminClients(services.build_client, services.admin_keys) as own:
            return check(services, own)
    inventories = take_inventory(settings.orgs, clients, settings.concurrency.inventory_workers)
    policies = {org.name: settings.policy_for(org) for org in settings.orgs}
    return build_check_report(inventories, policies, services.now(), managed_keys(services))


def managed_keys(services: Services) -> ManagedKeys:
    current: dict[tuple[str, str], str] = {}
    retiring: dict[tuple[str, str], RetiringMark] = {}
    for secret in services.settings.managed:
        if secret.adopt is not None and secret.adopt.key_id is not None:
            current[(secret.org, str(secret.adopt.key_id))] = secret.name
        if services.journals is None:
            continue
        try:
            state, _ = services.journals.load(secret.name)
        except (StoreError, JournalError) as error:
            log.warning("check.journal_unreadable", managed=secret.name, error=redact_text(str(error)))
            continue
        if state.current_key_id is not None:
            current[(secret.org, state.current_key_id)] = secret.name
        for old in state.retiring:
            retiring[(secret.org, old.key_id)] = RetiringMark(
                secret.name, old.promoted_at, secret.grace_period, secret.max_grace, old.adopted_original
            )
    return ManagedKeys(current, retiring)

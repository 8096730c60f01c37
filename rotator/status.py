"""`rotator status`: what each managed secret is doing, from its journal, its target's metadata and its org's
listing. Read only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from rotator.config import ManagedSecretSettings
from rotator.domain.journal import JournalError
from rotator.domain.keys import ApiKey
from rotator.domain.status import SecretStatus, SecretTimings, secret_status, unknown_status
from rotator.langsmith import LangSmithError
from rotator.observability import redact_text
from rotator.ports import StoreError
from rotator.services import Services


def statuses(services: Services, secrets: Sequence[ManagedSecretSettings]) -> list[SecretStatus]:
    listings: dict[str, dict[str, ApiKey]] = {}
    problems: dict[str, str] = {}
    for org_name in dict.fromkeys(secret.org for secret in secrets):
        org = services.settings.org_named(org_name)
        try:
            with services.build_client(org, services.admin_keys[org.name]) as client:
                listings[org_name] = {key.id: key for key in client.list_org_service_keys()}
        except LangSmithError as error:
            problems[org_name] = f"LangSmith did not list the keys of org {org_name}: {error}"
    return [_status(services, secret, listings.get(secret.org, {}), problems.get(secret.org)) for secret in secrets]


def _status(
    services: Services, secret: ManagedSecretSettings, listed: Mapping[str, ApiKey], listing_problem: str | None
) -> SecretStatus:
    target = services.targets(secret)
    if services.journals is None:
        raise RuntimeError("managed secrets need Vault")  # the config refuses them without: a bug
    try:
        state, _ = services.journals.load(secret.name)
        metadata = target.metadata()
    except (StoreError, JournalError) as error:
        return unknown_status(name=secret.name, org=secret.org, vault_path=target.name, why=redact_text(str(error)))
    settings = services.settings
    status = secret_status(
        name=secret.name,
        org=secret.org,
        vault_path=target.name,
        vault_version=metadata.current_version if metadata else None,
        vault_metadata=metadata.custom_metadata if metadata else {},
        state=state,
        listed=listed,
        timings=SecretTimings(
            secret.rotate_before,
            settings.policy_for(settings.org_named(secret.org)).max_age,
            secret.grace_period,
            secret.max_grace,
        ),
        now=services.now(),
    )
    return replace(status, detail=f"{status.detail}; {listing_problem}") if listing_problem else status

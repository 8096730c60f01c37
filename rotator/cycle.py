"""One whole cycle, orchestration only: inventory → expiry events → for each managed secret, its saga (recovery,
due rotations, due deletions) → alerting → the cycle's log line and metrics.

`rotator once` runs it once; the daemon runs it on a schedule. Everything it works with comes built from
``rotator.bootstrap``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import structlog

from rotator.admin_clients import AdminClients
from rotator.alerting import AlertingResult
from rotator.check import check
from rotator.config import ManagedSecretSettings, OrgSettings, Settings
from rotator.domain.admin_key import admin_key_ids, is_admin_key
from rotator.domain.check import CheckReport
from rotator.domain.conditions import conditions_after_cycle, resolution_reason
from rotator.domain.journal import JournalError
from rotator.domain.keys import ApiKey
from rotator.domain.outcome import Outcome, Result
from rotator.domain.policy import ExpiryStatus
from rotator.domain.status import SecretStatus
from rotator.langsmith import LangSmithClient
from rotator.observability import redact_text
from rotator.ports import StoreError
from rotator.rotation import RotationSaga
from rotator.secrets import describe_source
from rotator.services import Services
from rotator.status import statuses

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CycleResult:
    report: CheckReport
    outcomes: tuple[Outcome, ...]
    seconds: float = 0.0
    undelivered: Mapping[str, int] = field(default_factory=dict)
    """Per alert sink, the notifications it did not acknowledge (sent again next cycle)."""

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)


class Rotator:
    """The commands a process runs over its services: check, status, a cycle, one secret's rotation or import."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def stopping(self) -> threading.Event:
        return self.services.gate.stopping

    def check(self) -> CheckReport:
        return check(self.services)

    def status(self, secrets: Sequence[ManagedSecretSettings]) -> list[SecretStatus]:
        return statuses(self.services, secrets)

    def lease_state(self) -> str:
        return self.services.gate.lease_state()

    def close(self) -> None:
        self.services.close()

    def run_cycle(self, *, dry_run: bool = False, force: Collection[str] = ()) -> CycleResult:
        started = time.monotonic()
        for key in self.services.admin_keys.values():
            key.refresh()  # replaced in Vault since the last cycle (by another replica, or by hand): use it now
        with AdminClients(self.services.build_client, self.services.admin_keys) as clients:
            report = check(self.services, clients)
            _log_expiry_events(report)
            outcomes = self._run_sagas(clients, dry_run=dry_run, force=force)
            if any(outcome.promoted or outcome.result is Result.COMPLETED for outcome in outcomes):
                report = check(self.services, clients)  # keys were created or deleted: show them as they are now
        undelivered = {} if dry_run else self._alert(report, outcomes).undelivered
        result = CycleResult(report, outcomes, time.monotonic() - started, undelivered)
        self._record(result)
        return result

    def run_secret(
        self, secret: ManagedSecretSettings, *, dry_run: bool, force: bool, revoke_old: bool = False
    ) -> Outcome:
        """One managed secret, if this process may rotate now: it holds the lease and is inside the window.

        A dry run asks the same questions without taking the lease, and says what a real run would do."""
        with AdminClients(self.services.build_client, self.services.admin_keys) as clients:
            return self._run_secret(secret, clients, dry_run=dry_run, force=force, revoke_old=revoke_old)

    def import_secret(self, secret: ManagedSecretSettings, value: str, *, dry_run: bool) -> Outcome:
        """`rotator adopt NAME --secret-stdin`: store the managed key's existing secret in Vault."""
        blocked = self.services.gate.why_not(dry_run=dry_run)
        if blocked:
            return self._blocked(secret, *blocked)
        with AdminClients(self.services.build_client, self.services.admin_keys) as clients:
            return self._run_saga(secret, clients, lambda saga: saga.import_secret(value), dry_run)

    def _run_sagas(self, clients: AdminClients, *, dry_run: bool, force: Collection[str]) -> tuple[Outcome, ...]:
        """The managed secrets' sagas, ``concurrency.rotations`` at a time, each secret once. The entries that
        rotate an org's own admin key run after the others: each switches every client of its org to the new key,
        and the old key may be deleted at once (grace 0), under the feet of a saga still using it."""

        def run(secret: ManagedSecretSettings) -> Outcome:
            return self._run_secret(secret, clients, dry_run=dry_run, force=secret.name in force)

        managed = self.settings.managed
        others = [secret for secret in managed if not secret.manages_admin_key]
        workers = max(1, min(self.settings.concurrency.rotations, len(others)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rotate") as pool:
            outcomes = dict(zip((secret.name for secret in others), pool.map(run, others), strict=True))
        outcomes.update((secret.name, run(secret)) for secret in managed if secret.manages_admin_key)
        return tuple(outcomes[secret.name] for secret in managed)

    def _run_secret(
        self,
        secret: ManagedSecretSettings,
        clients: AdminClients,
        *,
        dry_run: bool,
        force: bool,
        revoke_old: bool = False,
    ) -> Outcome:
        blocked = self.services.gate.why_not(dry_run=dry_run)
        if blocked:
            outcome = self._blocked(secret, *blocked)
        else:
            run = functools.partial(RotationSaga.run, force=force, revoke_old=revoke_old)
            outcome = self._run_saga(secret, clients, run, dry_run)
        log.info("rotation.outcome", managed=outcome.name, result=outcome.result.value, message=outcome.message)
        return outcome

    def _blocked(self, secret: ManagedSecretSettings, result: Result, message: str) -> Outcome:
        """A secret this process may not rotate now (standby, outside the window, stopping) is still watched:
        the journal names the managed key and the one retiring, so metrics label the keys as the holder does."""
        journals = self.services.journals
        if journals is None:
            return Outcome(secret.name, result, message)
        try:
            state, _ = journals.load(secret.name)
        except (StoreError, JournalError) as error:
            log.warning("rotation.journal_unreadable", managed=secret.name, error=redact_text(str(error)))
            return Outcome(secret.name, result, message)
        retiring = tuple(old.key_id for old in state.retiring)
        return Outcome(secret.name, result, message, key_id=state.current_key_id, retiring_key_ids=retiring)

    def _run_saga(
        self,
        secret: ManagedSecretSettings,
        clients: AdminClients,
        step: Callable[[RotationSaga], Outcome],
        dry_run: bool,
    ) -> Outcome:
        services = self.services
        org = self.settings.org_named(secret.org)
        try:
            if services.journals is None:
                raise RuntimeError("managed secrets need Vault")  # the config refuses them without: a bug
            saga = RotationSaga(
                secret=secret,
                org=org,
                admin=clients(org),
                target=services.targets(secret),
                journal=services.journals,
                verifier=self._verifier(org),
                max_age=self.settings.policy_for(org).max_age,
                now=services.now,
                dry_run=dry_run,
                guard=services.gate.guard,
                own_admin_key=self._own_admin_key(org, secret),
                on_promoted=services.admin_keys[org.name].switch if secret.manages_admin_key else None,
            )
            return step(saga)
        except Exception as error:  # one secret's bug must not stop the others
            log.exception("rotation.crashed", managed=secret.name)
            return Outcome(
                secret.name, Result.FAILED, f"internal error: {type(error).__name__}: {redact_text(str(error))}"
            )

    def _own_admin_key(
        self, org: OrgSettings, secret: ManagedSecretSettings
    ) -> Callable[[ApiKey, str | None], str | None]:
        """Refuses to rotate the org's admin key unless this entry is where the rotator reads it from (then the
        rotator switches to the new key at once); from an environment variable or a file it cannot be."""
        admin = self.services.admin_keys[org.name]
        if secret.manages_admin_key:
            return lambda key, stored: None
        source = describe_source(org.api_key)
        if org.api_key.vault is None:
            reason = (
                f"it comes from {source}, where the rotator cannot store a new one, so rotating it would delete the "
                "rotator's own credential; give the rotator a key of its own, or keep it in Vault and manage it "
                "with self: true"
            )
        else:
            reason = (
                f"the rotator reads it from {source}, not from {self.services.targets(secret).name}, so it would "
                "go on using the old key until that is deleted; point this entry at that path, or set self: true"
            )

        def own(key: ApiKey, stored: str | None) -> str | None:
            return reason if is_admin_key(key, admin.secret, stored) else None

        return own

    def _verifier(self, org: OrgSettings) -> Callable[[str, str | None], LangSmithClient]:
        def build(secret: str, workspace: str | None) -> LangSmithClient:
            scoped = org.model_copy(update={"workspace_id": workspace})
            return self.services.build_client(scoped, secret)

        return build

    def _alert(self, report: CheckReport, outcomes: Sequence[Outcome]) -> AlertingResult:
        services = self.services
        org_outcomes = self._org_outcomes(outcomes)
        alerts = conditions_after_cycle(
            report,
            org_outcomes,
            admin_key_ids=admin_key_ids(report, {org: key.secret for org, key in services.admin_keys.items()}),
            admin_key_sources={org.name: describe_source(org.api_key) for org in self.settings.orgs},
        )
        result = services.alerting.run(
            alerts,
            reason=resolution_reason(report, org_outcomes),
            unknown_orgs={inventory.org for inventory in report.failed_orgs},
            now=services.now(),
        )
        if services.metrics is not None:
            services.metrics.record_undelivered([sink.name for sink in services.dispatcher.sinks], result.undelivered)
        return result

    def _org_outcomes(self, outcomes: Sequence[Outcome]) -> list[tuple[str, Outcome]]:
        orgs = {secret.name: secret.org for secret in self.settings.managed}
        return [(orgs[outcome.name], outcome) for outcome in outcomes]

    def _record(self, result: CycleResult) -> None:
        """The canonical log line of the cycle, and its metrics."""
        statuses_seen = Counter(row.assessment.status.value for row in result.report.rows)
        results = Counter(outcome.result.value for outcome in result.outcomes)
        log.info(
            "cycle.finished",
            keys=dict(statuses_seen),
            rotations=sum(outcome.promoted for outcome in result.outcomes),
            deletions=results[Result.COMPLETED.value],
            failures=results[Result.FAILED.value],
            failed_orgs=[inv.org for inv in result.report.failed_orgs],
            outcomes=dict(results),
            undelivered=dict(result.undelivered),
            lease=self.lease_state(),
            duration_s=round(result.seconds, 3),
        )
        metrics = self.services.metrics
        if metrics is None:
            return
        metrics.record_cycle(
            result.report,
            self._org_outcomes(result.outcomes),
            [org.name for org in self.settings.orgs],
            finished_at=self.services.now(),
            seconds=result.seconds,
            ok=result.ok and not result.report.failed_orgs,
        )
        lease = self.services.gate.lease
        metrics.lease_held.set(1 if lease is not None and lease.held else 0)


def _log_expiry_events(report: CheckReport) -> None:
    for row in report.rows:
        status = row.assessment.status
        if status in (ExpiryStatus.OK, ExpiryStatus.NO_EXPIRY):
            continue
        log.warning(
            "key.expiry",
            org=row.org,
            key_id=row.key.id,
            short_key=row.key.short_key,
            description=row.key.description,
            kind=row.key.kind.value,
            status=status.value,
            days_left=None if row.assessment.days_left is None else round(row.assessment.days_left, 2),
        )
    for inv in report.failed_orgs:
        log.error("org.poll_failed", org=inv.org, error=inv.error)

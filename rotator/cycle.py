"""One whole cycle: inventory → expiry events → for each managed secret, recovery, due rotations, due deletions.

`rotator once` runs it once; the daemon runs it on a schedule.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import structlog

from rotator.alerting import Alerting, AlertingResult
from rotator.alerts import build_sinks
from rotator.discovery import SettingNames, discover
from rotator.domain.check import CheckReport, ManagedKeys, RetiringMark, build_check_report
from rotator.domain.conditions import conditions_after_cycle, resolution_reason
from rotator.domain.journal import JournalError
from rotator.domain.keys import ApiKey
from rotator.domain.outcome import Outcome, Result
from rotator.domain.policy import ExpiryStatus
from rotator.domain.status import SecretStatus, SecretTimings, secret_status, unknown_status
from rotator.inventory import ClientFactory, client_factory_for, take_inventory
from rotator.langsmith import LangSmithClient, LangSmithError
from rotator.metrics import Metrics
from rotator.observability import redact_text
from rotator.rotation import MustStop, RotationSaga
from rotator.schedule import alert_hold_time
from rotator.settings import ConfigError, ManagedSecretSettings, OrgSettings, SecretRef, Settings
from rotator.vault import KvStore, VaultCredentialFileError, VaultError, VaultSession, VaultUnavailableError
from rotator.vault.alert_state import AlertStateStore
from rotator.vault.connect import connect_vault
from rotator.vault.journal import JournalStore
from rotator.vault.lease import Lease, new_holder_id

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


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


class Runtime:
    """What a cycle needs, built once per process: settings, admin keys, Vault, LangSmith clients, the lease,
    metrics, and the stop flag that signal handlers set."""

    def __init__(
        self,
        settings: Settings,
        environ: Mapping[str, str],
        *,
        now: Clock = utc_now,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.now = now
        self.metrics = metrics
        self.stopping = threading.Event()
        self.vault: VaultSession | None = connect_vault(settings.vault, environ) if settings.vault else None
        self.admin_keys = self._resolve_admin_keys(environ)
        self.build_client: ClientFactory = client_factory_for(
            settings, metrics.observe_request if metrics is not None else None
        )
        self.discovery_notes: list[str] = []
        """Which organization or workspace each org entry without ids watches, and why (for the operator)."""
        self.settings = settings = self._discover_orgs(settings)
        self.alerts = build_sinks(
            settings.alerts,
            lambda ref, field: self._resolve(ref, environ, field),
            on_delivery=metrics.observe_delivery if metrics is not None else None,
            alertmanager_resolve_timeout=alert_hold_time(settings),
            generator_url=settings.alerts.external_url,
        )
        self.alerting = Alerting(
            self.alerts,
            AlertStateStore(self.kv(), self._state_prefix()) if self.vault is not None else None,
            holder=new_holder_id(),
            renotify_interval=settings.alerts.renotify_interval,
            labels=settings.alerts.labels,
        )
        self.lease: Lease | None = None
        if settings.vault is not None and settings.managed:
            self.lease = Lease(
                self.kv(),
                path=f"{settings.vault.state_prefix}/leases/{settings.lease.name}",
                ttl=settings.lease.ttl,
                now=now,
            )

    def kv(self, mount: str | None = None) -> KvStore:
        if self.vault is None or self.settings.vault is None:
            raise ConfigError(["vault: not configured"])
        return KvStore(self.vault, mount=mount or self.settings.vault.kv_mount)

    def _discover_orgs(self, settings: Settings) -> Settings:
        if not any(org.discovered for org in settings.orgs):
            return settings
        orgs = []
        for index, org in enumerate(settings.orgs):
            if not org.discovered:
                orgs.append(org)
                continue
            names = SettingNames.environment() if settings.from_environment else SettingNames.config(index)
            found = discover(org, functools.partial(self._client_with_key, key=self.admin_keys[org.name]), names)
            log.info("org.discovered", org=org.name, mode=found.words)
            self.discovery_notes.append(found.words)
            orgs.append(found.org)
        return settings.model_copy(update={"orgs": orgs})

    def _client_with_key(self, org: OrgSettings, *, key: str) -> LangSmithClient:
        return self.build_client(org, key)

    def _resolve_admin_keys(self, environ: Mapping[str, str]) -> dict[str, str]:
        keys, problems = {}, []
        for index, org in enumerate(self.settings.orgs):
            needed_by = "the rotator, as its admin key" if self.settings.from_environment else f"orgs[{index}].api_key"
            try:
                keys[org.name] = self._resolve(org.api_key, environ, needed_by)
            except ConfigError as error:
                problems.extend(error.problems)
        if problems:
            raise ConfigError(problems)
        return keys

    def _resolve(self, ref: SecretRef, environ: Mapping[str, str], field: str) -> str:
        if ref.vault is None:
            return ref.resolve(environ, needed_by=field)
        try:
            stored = self.kv(ref.vault.mount).read(ref.vault.path)
        except (VaultUnavailableError, VaultCredentialFileError):
            raise  # an outage, not a mistake in the config: the caller says so
        except VaultError as error:
            raise ConfigError([f"{field}.vault: {error}"]) from None
        value = stored.data.get(ref.vault.field) if stored else None
        if not value:
            raise ConfigError([f"{field}.vault: no field {ref.vault.field!r} at {ref.vault.path}"])
        return str(value)

    def check(self) -> CheckReport:
        """One inventory of every org, assessed against its policy."""
        inventories = take_inventory(self.settings.orgs, self.admin_keys, self.build_client)
        policies = {org.name: self.settings.policy_for(org) for org in self.settings.orgs}
        return build_check_report(inventories, policies, self.now(), self._managed_keys())

    def _managed_keys(self) -> ManagedKeys:
        """Which keys the config and each managed secret's journal name: read only, so no lease is needed."""
        current: dict[tuple[str, str], str] = {}
        retiring: dict[tuple[str, str], RetiringMark] = {}
        journal = JournalStore(self.kv(), self._state_prefix()) if self.vault is not None else None
        for secret in self.settings.managed:
            if secret.adopt.key_id is not None:
                current[(secret.org, str(secret.adopt.key_id))] = secret.name
            if journal is None:
                continue
            try:
                state, _ = journal.load(secret.name)
            except (VaultError, JournalError) as error:
                log.warning("check.journal_unreadable", managed=secret.name, error=redact_text(str(error)))
                continue
            if state.current_key_id is not None:
                current[(secret.org, state.current_key_id)] = secret.name
            for old in state.retiring:
                retiring[(secret.org, old.key_id)] = RetiringMark(
                    secret.name, old.promoted_at, secret.grace_period, secret.max_grace, old.adopted_original
                )
        return ManagedKeys(current, retiring)

    def status(self, secrets: Sequence[ManagedSecretSettings]) -> list[SecretStatus]:
        """What each managed secret is doing: its journal, its Vault metadata, its org's listing. Read only."""
        listings: dict[str, dict[str, ApiKey]] = {}
        problems: dict[str, str] = {}
        for org_name in dict.fromkeys(secret.org for secret in secrets):
            org = self.settings.org_named(org_name)
            try:
                with self.build_client(org, self.admin_keys[org.name]) as client:
                    listings[org_name] = {key.id: key for key in client.list_org_service_keys()}
            except LangSmithError as error:
                problems[org_name] = f"LangSmith did not list the keys of org {org_name}: {error}"
        return [
            self._secret_status(secret, listings.get(secret.org, {}), problems.get(secret.org)) for secret in secrets
        ]

    def _secret_status(
        self, secret: ManagedSecretSettings, listed: Mapping[str, ApiKey], listing_problem: str | None
    ) -> SecretStatus:
        kv = self.kv(secret.mount)
        where = f"{kv.mount}/{secret.path}"
        try:
            state, _ = JournalStore(self.kv(), self._state_prefix()).load(secret.name)
            metadata = kv.read_metadata(secret.path)
        except (VaultError, JournalError) as error:
            return unknown_status(name=secret.name, org=secret.org, vault_path=where, why=redact_text(str(error)))
        status = secret_status(
            name=secret.name,
            org=secret.org,
            vault_path=where,
            vault_version=metadata.current_version if metadata else None,
            vault_metadata=metadata.custom_metadata if metadata else {},
            state=state,
            listed=listed,
            timings=SecretTimings(
                secret.rotate_before,
                self.settings.policy_for(self.settings.org_named(secret.org)).max_age,
                secret.grace_period,
                secret.max_grace,
            ),
            now=self.now(),
        )
        return replace(status, detail=f"{status.detail}; {listing_problem}") if listing_problem else status

    def run_cycle(self, *, dry_run: bool = False, force: Collection[str] = ()) -> CycleResult:
        started = time.monotonic()
        report = self.check()
        _log_expiry_events(report)
        outcomes = tuple(
            self.run_secret(secret, dry_run=dry_run, force=secret.name in force) for secret in self.settings.managed
        )
        if any(outcome.promoted or outcome.result is Result.COMPLETED for outcome in outcomes):
            report = self.check()  # keys were created or deleted: metrics should show them as they are now
        undelivered = {} if dry_run else self._alert(report, outcomes).undelivered
        result = CycleResult(report, outcomes, time.monotonic() - started, undelivered)
        self._record(result)
        return result

    def close(self) -> None:
        """Release the lease and the alert sinks' connections: the end of a `once`, `rotate` or daemon."""
        self.release()
        self.alerts.close()

    def _alert(self, report: CheckReport, outcomes: Sequence[Outcome]) -> AlertingResult:
        org_outcomes = self._org_outcomes(outcomes)
        alerts = conditions_after_cycle(
            report,
            org_outcomes,
            admin_key_ids=self._admin_key_ids(report),
            admin_key_sources={org.name: _describe_source(org.api_key) for org in self.settings.orgs},
        )
        result = self.alerting.run(
            alerts,
            reason=resolution_reason(report, org_outcomes),
            unknown_orgs={inventory.org for inventory in report.failed_orgs},
            now=self.now(),
        )
        if self.metrics is not None:
            self.metrics.record_undelivered([sink.name for sink in self.alerts.sinks], result.undelivered)
        return result

    def _org_outcomes(self, outcomes: Sequence[Outcome]) -> list[tuple[str, Outcome]]:
        orgs = {secret.name: secret.org for secret in self.settings.managed}
        return [(orgs[outcome.name], outcome) for outcome in outcomes]

    def _admin_key_ids(self, report: CheckReport) -> dict[str, str]:
        """Which listed key is each org's admin key: the one whose short_key begins the admin secret (LangSmith
        shows a few characters of a key in its short_key); none when that does not single one out."""
        found: dict[str, str] = {}
        for org, secret in self.admin_keys.items():
            matches = [row.key.id for row in report.rows if row.org == org and _is_secret_of(secret, row.key)]
            if len(matches) == 1:
                found[org] = matches[0]
        return found

    def run_secret(
        self, secret: ManagedSecretSettings, *, dry_run: bool, force: bool, revoke_old: bool = False
    ) -> Outcome:
        """One managed secret, if this process may rotate now: it holds the lease and is inside the window.

        A dry run asks the same questions without taking the lease, and says what a real run would do."""
        blocked = self._why_not_rotating(dry_run=dry_run)
        if blocked:
            outcome = self._blocked(secret, *blocked)
        else:
            outcome = self._run_saga(secret, lambda saga: saga.run(force=force, revoke_old=revoke_old), dry_run)
        log.info("rotation.outcome", managed=outcome.name, result=outcome.result.value, message=outcome.message)
        return outcome

    def import_secret(self, secret: ManagedSecretSettings, value: str, *, dry_run: bool) -> Outcome:
        """`rotator adopt NAME --secret-stdin`: store the managed key's existing secret in Vault."""
        blocked = self._why_not_rotating(dry_run=dry_run)
        if blocked:
            return self._blocked(secret, *blocked)
        return self._run_saga(secret, lambda saga: saga.import_secret(value), dry_run)

    def lease_state(self) -> str:
        """none, held, standby (another process holds it), or unknown (Vault could not say)."""
        if self.lease is None:
            return "none"
        if self.lease.held:
            return "held"
        return "unknown" if self.lease.last_error is not None else "standby"

    def release(self) -> None:
        if self.lease is not None:
            self.lease.release()

    def _why_not_rotating(self, *, dry_run: bool) -> tuple[Result, str] | None:
        would = "a real run now would skip: " if dry_run else ""
        if self.stopping.is_set():
            return Result.SKIPPED, "shutting down"
        window = self.settings.rotation_window
        if window is not None and not window.to_window().contains(self.now()):
            return Result.SKIPPED, f"{would}outside the rotation window: monitoring only"
        if self.lease is None:
            return None
        if dry_run:
            try:
                holder = self.lease.other_holder()
            except (VaultError, ValueError, KeyError) as error:
                return Result.FAILED, f"a real run now could not take the rotation lease: {redact_text(str(error))}"
            return None if holder is None else (Result.STANDBY, f"{would}another process ({holder}) holds the lease")
        if not self._holds_lease():
            if self.lease.last_error is not None:
                # Not another holder: Vault is sealed, down or refusing us, which an operator must hear.
                return Result.FAILED, f"cannot take the rotation lease: {redact_text(self.lease.last_error)}"
            return Result.STANDBY, "another process holds the rotation lease: monitoring only"
        return None

    def _blocked(self, secret: ManagedSecretSettings, result: Result, message: str) -> Outcome:
        """A secret this process may not rotate now (standby, outside the window, stopping) is still watched:
        the journal names the managed key and the one retiring, so metrics label the keys as the holder does."""
        try:
            state, _ = JournalStore(self.kv(), self._state_prefix()).load(secret.name)
        except (VaultError, JournalError, ConfigError) as error:
            log.warning("rotation.journal_unreadable", managed=secret.name, error=redact_text(str(error)))
            return Outcome(secret.name, result, message)
        retiring = tuple(old.key_id for old in state.retiring)
        return Outcome(secret.name, result, message, key_id=state.current_key_id, retiring_key_ids=retiring)

    def _guard(self) -> None:
        if self.stopping.is_set():
            raise MustStop("shutting down")
        if not self._holds_lease():
            raise MustStop("the rotation lease is no longer held")

    def _holds_lease(self) -> bool:
        """Whether this process may change keys now. A lease still held needs no Vault write (so one write per
        cycle, not per secret); one that ran out is taken again if nobody else took it, so a long `once`,
        which has no renewal job, goes on rather than stopping."""
        return self.lease is None or self.lease.held or self.lease.try_acquire()

    def _run_saga(
        self, secret: ManagedSecretSettings, step: Callable[[RotationSaga], Outcome], dry_run: bool
    ) -> Outcome:
        org = self.settings.org_named(secret.org)
        try:
            kv = self.kv(secret.mount)
            journal = JournalStore(self.kv(), self._state_prefix())
            with self.build_client(org, self.admin_keys[org.name]) as admin:
                saga = RotationSaga(
                    secret=secret,
                    org=org,
                    admin=admin,
                    kv=kv,
                    journal=journal,
                    verifier=self._verifier(org),
                    max_age=self.settings.policy_for(org).max_age,
                    now=self.now,
                    dry_run=dry_run,
                    guard=self._guard,
                    own_admin_key=self._own_admin_key(org),
                )
                return step(saga)
        except Exception as error:  # one secret's bug must not stop the others
            log.exception("rotation.crashed", managed=secret.name)
            return Outcome(
                secret.name, Result.FAILED, f"internal error: {type(error).__name__}: {redact_text(str(error))}"
            )

    def _own_admin_key(self, org: OrgSettings) -> Callable[[ApiKey, str | None], str | None]:
        """Whether a key is the org's admin key held where the rotator cannot replace it (env or file). The
        secret Vault holds for the key decides when there is one; else the short key, which several keys
        may share, so that guess errs on the side of refusing."""
        secret = self.admin_keys[org.name]
        source = None if org.api_key.vault is not None else _describe_source(org.api_key)

        def own(key: ApiKey, stored: str | None) -> str | None:
            if source is None:
                return None
            same = stored == secret if stored is not None else _is_secret_of(secret, key)
            return source if same else None

        return own

    def _state_prefix(self) -> str:
        assert self.settings.vault is not None
        return self.settings.vault.state_prefix

    def _verifier(self, org: OrgSettings) -> Callable[[str, str | None], LangSmithClient]:
        def build(secret: str, workspace: str | None) -> LangSmithClient:
            scoped = org.model_copy(update={"workspace_id": workspace})
            return self.build_client(scoped, secret)

        return build

    def _record(self, result: CycleResult) -> None:
        """The canonical log line of the cycle, and its metrics."""
        statuses = Counter(row.assessment.status.value for row in result.report.rows)
        results = Counter(outcome.result.value for outcome in result.outcomes)
        log.info(
            "cycle.finished",
            keys=dict(statuses),
            rotations=sum(outcome.promoted for outcome in result.outcomes),
            deletions=results[Result.COMPLETED.value],
            failures=results[Result.FAILED.value],
            failed_orgs=[inv.org for inv in result.report.failed_orgs],
            outcomes=dict(results),
            undelivered=dict(result.undelivered),
            lease=self.lease_state(),
            duration_s=round(result.seconds, 3),
        )
        if self.metrics is None:
            return
        self.metrics.record_cycle(
            result.report,
            self._org_outcomes(result.outcomes),
            [org.name for org in self.settings.orgs],
            finished_at=self.now(),
            seconds=result.seconds,
            ok=result.ok and not result.report.failed_orgs,
        )
        self.metrics.lease_held.set(1 if self.lease is not None and self.lease.held else 0)


def _is_secret_of(secret: str, key: ApiKey) -> bool:
    """Whether ``secret`` is ``key``'s: LangSmith shows a key's first characters as its short_key."""
    prefix = key.short_key.rstrip(".")
    return len(prefix) >= 10 and secret.startswith(prefix)


def _describe_source(ref: SecretRef) -> str:
    if ref.env is not None:
        return f"environment variable {ref.env}"
    if ref.file is not None:
        return f"file {ref.file}"
    assert ref.vault is not None
    return f"Vault {ref.vault.mount or '<kv_mount>'}/{ref.vault.path}, field {ref.vault.field}"


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

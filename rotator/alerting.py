"""One cycle's alerting: the conditions holding now → each sink's plan from its own ledger → dispatch → each
ledger updated with what that sink acknowledged.

Delivery is at least once per sink. The delivery state lives in the state store (Vault), so restarts and
CronJob runs pick it up. Before sending, a process claims the state with check-and-set, so of two replicas only
one sends; a claim lapses after the longest a dispatch can take, so a process that died mid-send holds nothing
up. The state is written only when something was sent. When the store cannot keep the state (down, or the
policy refuses it), alerting goes on with the state kept in this process, rather than staying silent or
repeating itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from rotator.alerts.dispatch import Delivery, Dispatcher, SinkWork
from rotator.domain.alerts import (
    Alert,
    AlertKind,
    Claim,
    DeliveryState,
    Reason,
    plan_for_sink,
    record_delivery,
)
from rotator.observability import redact_text
from rotator.ports import StoreError, WriteConflict

log = structlog.get_logger(__name__)

CLAIM_MARGIN = timedelta(seconds=30)
_KEY_CONDITIONS = (AlertKind.KEY_EXPIRY, AlertKind.ADMIN_KEY_EXPIRY)


class DeliveryStore(Protocol):
    def load(self) -> tuple[DeliveryState, int]:
        """The state and its version (0: never written)."""
        ...

    def save(self, state: DeliveryState, version: int) -> int:
        """Check-and-set on ``version``; raises WriteConflict when someone wrote since."""
        ...


@dataclass(frozen=True)
class AlertingResult:
    deliveries: tuple[Delivery, ...] = ()

    @property
    def undelivered(self) -> dict[str, int]:
        """Per sink, the notifications it did not acknowledge: they are sent again next cycle."""
        return {d.sink: d.unacknowledged for d in self.deliveries if d.unacknowledged}


class Alerting:
    def __init__(
        self,
        dispatcher: Dispatcher,
        store: DeliveryStore | None,
        *,
        holder: str,
        renotify_interval: timedelta,
        labels: Mapping[str, str],
    ) -> None:
        self._dispatcher = dispatcher
        self._store = store
        self._holder = holder
        self._renotify = renotify_interval
        self._labels = dict(labels)
        self._memory = DeliveryState()
        """The state as this process last left it: all there is without a store, the fallback when it fails."""
        longest = max((route.timeout for route in dispatcher.routes), default=0.0)
        self._claim_for = timedelta(seconds=longest + dispatcher.grace) + CLAIM_MARGIN

    def run(
        self, alerts: Sequence[Alert], *, reason: Reason, unknown_orgs: Collection[str], now: datetime
    ) -> AlertingResult:
        """Send what each sink is owed. ``unknown_orgs``: orgs this cycle could not poll, whose key conditions
        are neither confirmed nor resolved: they stay as they were."""
        state, version = self._load()
        other = state.claimed_by_other(self._holder, now)
        if other is not None:
            log.info("alerts.sent_by_another_process", holder=other.holder)
            return AlertingResult()
        labelled = [replace(alert, labels={**self._labels, **alert.labels}) for alert in alerts]
        current = labelled + _carried(state, labelled, unknown_orgs)
        plans = self._plans(state, current, reason, now)
        if not any(work.notifications for work in plans.values()):
            # Only Alertmanager's re-posts of what is firing: nothing a ledger records, so nothing is written.
            return AlertingResult(tuple(self._dispatcher.dispatch(plans, now)))
        if version is not None:
            try:
                version = self._store_save(replace(state, claim=Claim(self._holder, now + self._claim_for)), version)
            except WriteConflict:
                log.info("alerts.sent_by_another_process")
                return AlertingResult()
        deliveries = self._dispatcher.dispatch(plans, now)
        acknowledged = {delivery.sink: delivery.acknowledged for delivery in deliveries}
        self._memory = DeliveryState(
            {
                sink: record_delivery(
                    state.ledger(sink),
                    work.notifications,
                    acknowledged.get(sink, ()),
                    now=now,
                    renotify_interval=self._renotify,
                )
                for sink, work in plans.items()
            }
        )
        if version is not None:
            try:
                self._store_save(self._memory, version)
            except WriteConflict:
                log.warning(
                    "alerts.claim_lost",
                    detail="another process wrote the delivery state meanwhile: some notifications may repeat",
                )
        return AlertingResult(tuple(deliveries))

    def _plans(
        self, state: DeliveryState, current: Sequence[Alert], reason: Reason, now: datetime
    ) -> dict[str, SinkWork]:
        holding = {alert.id: alert for alert in current}

        def why(alert: Alert) -> str:
            still = holding.get(alert.id)
            if still is not None:  # it holds, but this sink no longer takes it
                return f"now {still.severity.value}, which this sink does not receive"
            return reason(alert)

        plans: dict[str, SinkWork] = {}
        for route in self._dispatcher.routes:
            name = route.sink.name
            accepted = [alert for alert in current if route.filter.accepts(alert)]
            notifications = plan_for_sink(
                accepted, state.ledger(name), now=now, renotify_interval=self._renotify, reason=why
            )
            firing = [alert for alert in accepted if not alert.is_event] if route.sink.resends_firing else []
            plans[name] = SinkWork(notifications, firing)
        return plans

    def _load(self) -> tuple[DeliveryState, int | None]:
        """The state and its version; ``None`` for the version means "this process's own state"."""
        if self._store is None:
            return self._memory, None
        try:
            return self._store.load()
        except StoreError as error:
            log.error("alerts.state_unavailable", error=redact_text(str(error)), fallback="in-process state")
            return self._memory, None

    def _store_save(self, state: DeliveryState, version: int) -> int | None:
        """The new version, or ``None`` when the store failed: then this process goes on with its own state."""
        if self._store is None:  # no store, no version (see _load): this process's own state is all there is
            return None
        try:
            return self._store.save(state, version)
        except WriteConflict:
            raise  # another process's write: the caller decides what that means
        except StoreError as error:
            log.error("alerts.state_unavailable", error=redact_text(str(error)), fallback="in-process state")
            return None


def _carried(state: DeliveryState, current: Sequence[Alert], unknown_orgs: Collection[str]) -> list[Alert]:
    """Key conditions of orgs that could not be polled, as sinks last acknowledged them: not knowing is not fixed."""
    if not unknown_orgs:
        return []
    seen = {alert.id for alert in current}
    carried: dict[str, Alert] = {}
    for ledger in state.ledgers.values():
        for alert_id, record in ledger.firing.items():
            alert = record.alert
            if alert_id not in seen and alert.kind in _KEY_CONDITIONS and alert.org in unknown_orgs:
                carried.setdefault(alert_id, alert)
    return list(carried.values())

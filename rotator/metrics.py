"""Prometheus metrics, named by Prometheus conventions: ``langsmith_rotator_`` prefix, base units, ``_total``.

Per-key series are labelled by stable names (org, description, kind, managed secret), never by key id or
secret, so a rotation does not churn series; they are rebuilt from each cycle's report, so a deleted key's
series disappears. Absolute timestamps, as cert-manager and x509-certificate-exporter do: the alert rules
subtract ``time()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import datetime
from functools import partial
from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit, urlunsplit

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, pushadd_to_gateway
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import basic_auth_handler, default_handler
from prometheus_client.registry import Collector

from rotator.domain.check import CheckReport
from rotator.domain.outcome import Outcome

PREFIX = "langsmith_rotator"
KEY_LABELS = ("org", "description", "kind", "managed")


class _KeyCollector(Collector):
    """Per-key gauges from the latest report, swapped atomically so a scrape never sees half a cycle."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._report: CheckReport | None = None
        self._managed: Mapping[tuple[str, str], str] = {}
        self._retiring: frozenset[tuple[str, str]] = frozenset()

    def update(
        self, report: CheckReport, managed: Mapping[tuple[str, str], str], retiring: Collection[tuple[str, str]]
    ) -> None:
        with self._lock:
            self._report, self._managed, self._retiring = report, dict(managed), frozenset(retiring)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            report, managed, retiring = self._report, self._managed, self._retiring
        expiry = GaugeMetricFamily(
            f"{PREFIX}_key_expiry_timestamp_seconds",
            "When the key expires (Unix time); absent for keys that never expire.",
            labels=KEY_LABELS,
        )
        created = GaugeMetricFamily(
            f"{PREFIX}_key_created_timestamp_seconds", "When the key was created (Unix time).", labels=KEY_LABELS
        )
        last_used = GaugeMetricFamily(
            f"{PREFIX}_key_last_used_timestamp_seconds",
            "When LangSmith last saw the key used (Unix time); absent if never used.",
            labels=KEY_LABELS,
        )
        if report is not None:
            # A replaced key waiting out its grace period is not reported: its expiry is no longer a risk.
            rows = [row for row in report.rows if (row.org, row.key.id) not in retiring]
            # Descriptions may repeat: the series keeps the most urgent (earliest) value of its label set.
            for family, moments in (
                (expiry, ((row, row.key.expires_at) for row in rows)),
                (created, ((row, row.key.created_at) for row in rows)),
                (last_used, ((row, row.key.last_used_at) for row in rows)),
            ):
                earliest: dict[tuple[str, ...], float] = {}
                for row, moment in moments:
                    if moment is None:
                        continue
                    key = (row.org, row.key.description, row.key.kind.value, managed.get((row.org, row.key.id), ""))
                    value = moment.timestamp()
                    earliest[key] = min(value, earliest.get(key, value))
                for labels, value in sorted(earliest.items()):
                    family.add_metric(list(labels), value)
        yield from (expiry, created, last_used)


class _OptionalTimestamp(Collector):
    """A gauge that exists only once set, so a Pushgateway push-add never overwrites a real value with 0."""

    def __init__(self, name: str, documentation: str) -> None:
        self._name, self._documentation = name, documentation
        self._value: float | None = None

    def set(self, moment: datetime) -> None:
        self._value = moment.timestamp()

    def collect(self) -> Iterable[Metric]:
        if self._value is None:
            return []
        return [GaugeMetricFamily(self._name, self._documentation, value=self._value)]


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.keys = _KeyCollector()
        self.registry.register(self.keys)
        self.last_successful_cycle = _OptionalTimestamp(
            f"{PREFIX}_last_successful_cycle_timestamp_seconds",
            "When a cycle last finished with every org polled and no rotation failed (Unix time).",
        )
        self.registry.register(self.last_successful_cycle)
        self.cycle_duration = Histogram(
            f"{PREFIX}_cycle_duration_seconds",
            "Wall time of one whole cycle.",
            buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.rotations = Counter(
            f"{PREFIX}_rotations_total",
            "Rotation runs per managed secret, by result.",
            ["secret", "result"],
            registry=self.registry,
        )
        self.last_rotation_success = Gauge(
            f"{PREFIX}_last_rotation_success_timestamp_seconds",
            "When a managed secret last got a new key into Vault (Unix time).",
            ["secret"],
            registry=self.registry,
        )
        self.api_requests = Counter(
            f"{PREFIX}_api_requests_total",
            "Requests to LangSmith (service=\"langsmith\"), by method and status ('error' when no answer came).",
            ["service", "method", "status"],
            registry=self.registry,
        )
        self.org_poll_errors = Gauge(
            f"{PREFIX}_org_poll_failed",
            "1 when the last poll of the org failed (bad admin key, unreachable), else 0.",
            ["org"],
            registry=self.registry,
        )
        self.alert_deliveries = Counter(
            f"{PREFIX}_alert_deliveries_total",
            "Deliveries to each alert sink, by result (ok or failed).",
            ["sink", "result"],
            registry=self.registry,
        )
        self.alert_notifications_pending = Gauge(
            f"{PREFIX}_alert_notifications_pending",
            "Notifications (for Alertmanager, also the firing alerts it re-posts) a sink did not take in the "
            "last cycle; they are sent again next cycle.",
            ["sink"],
            registry=self.registry,
        )
        self.lease_held = Gauge(
            f"{PREFIX}_lease_held",
            "1 while this process holds the rotation lease (it may rotate), 0 on standby.",
            registry=self.registry,
        )

    def observe_request(self, method: str, _route: str, status: int | None, _seconds: float) -> None:
        """The LangSmith client's ``on_request`` hook. Routes are not labels: ids would make them unbounded."""
        self.api_requests.labels("langsmith", method, str(status) if status is not None else "error").inc()

    def observe_delivery(self, sink: str, ok: bool) -> None:
        """The alert dispatcher's ``on_delivery`` hook."""
        self.alert_deliveries.labels(sink, "ok" if ok else "failed").inc()

    def record_undelivered(self, sinks: Iterable[str], undelivered: Mapping[str, int]) -> None:
        for sink in sinks:
            self.alert_notifications_pending.labels(sink).set(undelivered.get(sink, 0))

    def record_cycle(
        self,
        report: CheckReport,
        outcomes: Iterable[tuple[str, Outcome]],
        orgs: Iterable[str],
        *,
        finished_at: datetime,
        seconds: float,
        ok: bool,
    ) -> None:
        """``outcomes`` pairs each managed secret's org with its outcome."""
        outcomes = list(outcomes)
        managed = {(org, outcome.key_id): outcome.name for org, outcome in outcomes if outcome.key_id}
        retiring = [(org, key_id) for org, outcome in outcomes for key_id in outcome.retiring_key_ids]
        self.keys.update(report, managed, retiring)
        self.cycle_duration.observe(seconds)
        failed = {inventory.org for inventory in report.failed_orgs}
        for org in orgs:
            self.org_poll_errors.labels(org).set(1 if org in failed else 0)
        for _org, outcome in outcomes:
            self.rotations.labels(outcome.name, outcome.result.value).inc()
            if outcome.promoted:
                self.last_rotation_success.labels(outcome.name).set(finished_at.timestamp())
        if ok:
            self.last_successful_cycle.set(finished_at)


class PushError(Exception):
    """The Pushgateway did not take the metrics; the message names it without the credentials of its URL."""


def push_metrics(gateway: str, metrics: Metrics, *, instance: str) -> None:
    """Push-add (HTTP POST): replaces only the metrics pushed, so a run that failed, and so set no
    last-success time, leaves the previous one in the Pushgateway. Credentials in the URL
    (``https://user:password@host``) are sent as basic auth."""
    try:
        url, handler = _without_credentials(gateway)
    except ValueError:
        raise PushError("cannot push metrics: the Pushgateway URL is not valid") from None
    try:
        pushadd_to_gateway(
            url, job=PREFIX, grouping_key={"instance": instance}, registry=metrics.registry, handler=handler
        )
    except (OSError, HTTPException) as error:  # urllib's errors are OSErrors, http.client's are not
        raise PushError(f"cannot push metrics to {url}: {_push_failure(error)}") from None


def _without_credentials(gateway: str) -> tuple[str, Callable[..., Callable[[], None]]]:
    """The URL to push to, without userinfo (nor query or fragment), and the handler that sends the userinfo."""
    parts = urlsplit(gateway if "://" in gateway else f"http://{gateway}")
    if not parts.hostname or parts.port == 0:  # .port raises ValueError for a port that is not a number
        raise ValueError(gateway)
    userinfo, _, host = parts.netloc.rpartition("@")
    url = urlunsplit((parts.scheme, host, parts.path, "", ""))
    if not userinfo:
        return url, default_handler
    username, _, password = userinfo.partition(":")
    return url, partial(basic_auth_handler, username=unquote(username), password=unquote(password))


def _push_failure(error: OSError | HTTPException) -> str:
    if isinstance(error, HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, URLError):
        reason = error.reason
        return (reason.strerror or str(reason)).lower() if isinstance(reason, OSError) else str(reason)
    if isinstance(error, OSError):
        return str(error)
    return f"not an HTTP answer ({type(error).__name__})"

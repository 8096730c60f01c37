"""The alert sinks from the config: each sink's own options, its secrets resolved, its filter; the always-on
log sink first. A mistake is a ConfigError naming the field at fault, and no sink is left open."""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from rotator.alerts import (
    AlertmanagerSink,
    LogSink,
    PagerDutySink,
    SlackSink,
    WebhookSink,
)
from rotator.alerts._http import DEFAULT_HTTP, HttpOptions
from rotator.alerts._redact import url_secrets
from rotator.alerts.alertmanager import DEFAULT_RESOLVE_TIMEOUT
from rotator.alerts.base import Sink
from rotator.alerts.dispatch import LOG_SINK_NAME, Dispatcher, OnDelivery, Route
from rotator.alerts.routing import ACCEPT_ALL, AlertFilter
from rotator.config import (
    AlertmanagerSinkSettings,
    AlertsSettings,
    ConfigError,
    PagerDutySinkSettings,
    SecretRef,
    SinkFilters,
    SinkSettings,
    SlackSinkSettings,
)
from rotator.domain.alerts import Severity
from rotator.secrets import SecretResolver

MIN_HMAC_SECRET = 16


def build_sinks(
    settings: AlertsSettings,
    secrets: SecretResolver,
    *,
    on_delivery: OnDelivery | None = None,
    alertmanager_resolve_timeout: timedelta = DEFAULT_RESOLVE_TIMEOUT,
    generator_url: str | None = None,
    http: HttpOptions = DEFAULT_HTTP,
) -> Dispatcher:
    """The configured sinks plus the always-on log sink. Raises ``ConfigError`` naming the field at fault.

    ``alertmanager_resolve_timeout`` should be about three poll intervals; ``generator_url`` is shown by
    Alertmanager as the alert's source link. ``http`` gives every sink its retry policy, clock and transport (tests
    pass fast retries and a fake clock); each sink gets it with the timeout its settings give it.
    """
    factory = _SinkFactory(secrets, alertmanager_resolve_timeout, generator_url)
    routes = [Route(LogSink(LOG_SINK_NAME), ACCEPT_ALL, timeout=5.0)]
    try:
        for index, configured in enumerate(settings.sinks):
            where = f"alerts.sinks[{index}]"
            name = configured.name or configured.type
            if name == LOG_SINK_NAME:
                raise ConfigError([f"{where}.name: {LOG_SINK_NAME!r} is the built-in log sink's; choose another"])
            timeout = configured.timeout.total_seconds()
            if timeout <= 0:
                raise ConfigError([f"{where}.timeout: must be longer than 0"])
            sink = factory.build(configured, where, name, replace(http, timeout=timeout))
            routes.append(Route(sink, sink_filter(configured.min_severity, configured.filters), timeout))
    except BaseException:
        for route in routes:
            route.sink.close()
        raise
    return Dispatcher(routes, on_delivery=on_delivery, secrets=factory.secrets)


@dataclass(slots=True)
class _SinkFactory:
    secrets_from: SecretResolver
    resolve_timeout: timedelta
    generator_url: str | None
    secrets: list[str] = field(default_factory=list)
    """Every secret resolved, so the dispatcher can scrub them from any message."""

    def build(self, configured: SinkSettings, where: str, name: str, http: HttpOptions) -> Sink:
        if isinstance(configured, SlackSinkSettings):
            url = self._secret_url(configured.webhook_url, f"{where}.webhook_url")
            return SlackSink(webhook_url=url, name=name, http=http)
        if isinstance(configured, PagerDutySinkSettings):
            routing_key = self.secrets_from.read(configured.routing_key, f"{where}.routing_key")
            self.secrets.append(routing_key)
            events_url = _url(configured.events_url, f"{where}.events_url")
            self.secrets += url_secrets(events_url, secret_path=False)
            return PagerDutySink(
                routing_key=routing_key, events_url=events_url, name=name, link=self.generator_url, http=http
            )
        if isinstance(configured, AlertmanagerSinkSettings):
            url = _url(configured.url, f"{where}.url")
            self.secrets += url_secrets(url, secret_path=False)
            http = replace(http, headers={**configured.headers, **self._authorization(configured, where)})
            if configured.ca_file is not None:
                http = replace(http, ca_file=_readable(configured.ca_file, f"{where}.ca_file"))
            return AlertmanagerSink(
                url=url, name=name, resolve_timeout=self.resolve_timeout, generator_url=self.generator_url, http=http
            )
        url = self._secret_url(configured.url, f"{where}.url")
        hmac_secret = None
        if configured.hmac_secret is not None:
            hmac_secret = self.secrets_from.read(configured.hmac_secret, f"{where}.hmac_secret")
            if len(hmac_secret) < MIN_HMAC_SECRET:
                raise ConfigError(
                    [f"{where}.hmac_secret: too short to sign with; use at least {MIN_HMAC_SECRET} random characters"]
                )
            self.secrets.append(hmac_secret)
        return WebhookSink(url=url, name=name, hmac_secret=hmac_secret, http=http)

    def _authorization(self, configured: AlertmanagerSinkSettings, where: str) -> dict[str, str]:
        if configured.bearer_token is not None:
            token = self.secrets_from.read(configured.bearer_token, f"{where}.bearer_token")
            self.secrets.append(token)
            return {"Authorization": f"Bearer {token}"}
        if configured.basic_auth is not None:
            password = self.secrets_from.read(configured.basic_auth.password, f"{where}.basic_auth.password")
            encoded = base64.b64encode(f"{configured.basic_auth.username}:{password}".encode()).decode("ascii")
            self.secrets += [password, encoded]
            return {"Authorization": f"Basic {encoded}"}
        return {}

    def _secret_url(self, ref: SecretRef, where: str) -> str:
        url = _url(self.secrets_from.read(ref, where), where)
        self.secrets += url_secrets(url, secret_path=True)
        return url


def _readable(path: Path, where: str) -> str:
    """``path`` as a string if it is a CA bundle the TLS stack accepts; otherwise the field and the cause."""
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as error:
        cause = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise ConfigError([f"{where}: cannot use {path} as a CA bundle: {cause}"]) from None
    return str(path)


def _url(value: str, where: str) -> str:
    """``value`` if it is an http(s) URL; the error never repeats the value, which may be a secret."""
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError([f"{where}: not an http(s) URL (value not shown: it may be secret)"])
    return value.strip()


def sink_filter(min_severity: str, filters: SinkFilters) -> AlertFilter:
    return AlertFilter(
        min_severity=Severity(min_severity),
        orgs=frozenset(filters.orgs) if filters.orgs is not None else None,
        key_kinds=frozenset(filters.kinds) if filters.kinds is not None else None,
        managed=filters.managed,
        conditions=frozenset(filters.conditions) if filters.conditions is not None else None,
    )

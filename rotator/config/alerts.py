"""Alerts: the sinks they go to (Slack, PagerDuty, Alertmanager, webhooks), what each accepts, and their labels."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from rotator.config.errors import ConfigProblem, invalid
from rotator.config.fields import Duration, NonBlank, StableName, StrictModel
from rotator.config.secret_refs import SecretRef
from rotator.domain.alerts import RESERVED_LABELS, AlertKind


class SinkFilters(StrictModel):
    """Send only alerts about these orgs, key kinds, or managed (true) / unmanaged (false) keys, or of these
    conditions (``[rotation_succeeded]`` with ``min_severity: info`` makes a post-rotation hook)."""

    orgs: list[str] | None = None
    kinds: list[Literal["service_key", "personal_access_token"]] | None = None
    managed: bool | None = None
    conditions: list[AlertKind] | None = None


class _SinkSettings(StrictModel):
    name: StableName | None = None
    """Used in logs and metrics; default: the sink's type."""
    min_severity: Literal["info", "warning", "critical"] = "warning"
    filters: SinkFilters = SinkFilters()
    timeout: Duration = timedelta(seconds=10)


class SlackSinkSettings(_SinkSettings):
    type: Literal["slack"]
    webhook_url: SecretRef
    """An incoming-webhook URL; its path is the secret, so it comes from env, a file or Vault."""


class PagerDutySinkSettings(_SinkSettings):
    type: Literal["pagerduty"]
    routing_key: SecretRef
    events_url: str = "https://events.pagerduty.com/v2/enqueue"


class BasicAuthSettings(StrictModel):
    username: NonBlank
    password: SecretRef


_HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"


class AlertmanagerSinkSettings(_SinkSettings):
    type: Literal["alertmanager"]
    url: str
    """Alertmanager's base URL, e.g. http://alertmanager:9093; alerts go to /api/v2/alerts."""
    headers: dict[Annotated[str, Field(pattern=_HEADER_NAME)], NonBlank] = {}
    """Sent with every post, e.g. X-Scope-OrgID for Mimir's or Cortex's multi-tenant Alertmanager."""
    bearer_token: SecretRef | None = None
    basic_auth: BasicAuthSettings | None = None
    ca_file: Path | None = None
    """A PEM bundle to verify an https Alertmanager with, instead of the system's CAs."""

    @model_validator(mode="after")
    def _one_authorization(self) -> Self:
        problems = []
        if self.bearer_token is not None and self.basic_auth is not None:
            problems.append(ConfigProblem(("bearer_token",), "give bearer_token or basic_auth, not both"))
        if (self.bearer_token or self.basic_auth) and any(h.lower() == "authorization" for h in self.headers):
            problems.append(
                ConfigProblem(("headers",), "Authorization is set by bearer_token or basic_auth; do not repeat it")
            )
        if problems:
            raise invalid(AlertmanagerSinkSettings, *problems)
        return self

    def secret_refs(self) -> list[SecretRef]:
        refs = [self.bearer_token] if self.bearer_token else []
        return refs + ([self.basic_auth.password] if self.basic_auth else [])


class WebhookSinkSettings(_SinkSettings):
    type: Literal["webhook"]
    url: SecretRef
    hmac_secret: SecretRef | None = None
    """Signs each body with HMAC-SHA256 in the X-Rotator-Signature-256 header (sha256=<hex>)."""


SinkSettings = Annotated[
    SlackSinkSettings | PagerDutySinkSettings | AlertmanagerSinkSettings | WebhookSinkSettings,
    Field(discriminator="type"),
]


class AlertmanagerConventions(StrictModel):
    expected_interval: Duration | None = None
    """How often cycles run, for `rotator once` under a CronJob; default: the daemon's schedule (daemon.cron,
    else poll_interval). A firing alert's endsAt is three of these ahead."""

    @field_validator("expected_interval")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be longer than 0")
        return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    return value


def _static_label(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError("not a Prometheus label name ([A-Za-z_][A-Za-z0-9_]*)")
    if name in RESERVED_LABELS:
        raise ValueError("set by the rotator on every alert; choose another name")
    return name


class AlertsSettings(StrictModel):
    renotify_interval: Duration = timedelta(hours=24)
    labels: dict[Annotated[str, AfterValidator(_static_label)], NonBlank] = {}
    """Static labels on every alert and every sink (team, env, cluster), for routing trees that match on them."""
    external_url: Annotated[str, AfterValidator(_http_url)] | None = None
    """A page about the rotator (a Grafana dashboard, a runbook): Alertmanager's generatorURL, PagerDuty's link."""
    alertmanager: AlertmanagerConventions = AlertmanagerConventions()
    sinks: list[SinkSettings] = []

    @field_validator("sinks")
    @classmethod
    def _unique_names(cls, sinks: list[SinkSettings]) -> list[SinkSettings]:
        names = [sink.name or sink.type for sink in sinks]
        if len(set(names)) != len(names):
            raise ValueError("give sinks of the same type distinct names")
        return sinks

"""Settings: environment variables and an optional YAML file, validated once into typed, immutable objects.

Every problem is reported as ``field: problem`` with the field spelled as the user wrote it, e.g.
``orgs[1].endpoint: ...`` for the config file or ``LANGSMITH_ENDPOINT: ...`` for the environment.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit
from uuid import UUID

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from rotator.domain.alerts import RESERVED_LABELS
from rotator.domain.durations import parse_duration
from rotator.domain.policy import ExpiryPolicy
from rotator.domain.timing import MAX_LIFETIME, timing_problems
from rotator.domain.window import RotationWindow
from rotator.langsmith.endpoints import DEFAULT_ENDPOINT, normalize_endpoint


class ConfigError(Exception):
    """Invalid settings; ``problems`` are ``field: problem`` lines."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"config error: {p}" for p in self.problems))


_LONGEST = timedelta(days=36500)
"""100 years: longer is a typo, and anything shorter can be added to today without overflowing a datetime."""
_HUGE_NUMBER = re.compile(r"[1-9]\d{15}")  # beyond _LONGEST in any unit; spares int() its 4300-digit limit


def _duration(value: object) -> object:
    if isinstance(value, str):
        try:
            value = timedelta.max if _HUGE_NUMBER.search(value) else parse_duration(value)
        except OverflowError:
            value = timedelta.max
    elif isinstance(value, int) and not isinstance(value, bool) and value == 0:
        value = timedelta(0)
    if not isinstance(value, timedelta):
        raise ValueError(f"{value!r} is not a duration: write it like 14d, 36h or 90m")
    if value > _LONGEST:
        raise ValueError(f"is too long: durations are at most {_LONGEST.days}d (100 years)")
    if value < timedelta(0):
        raise ValueError("must not be negative")
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0")
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
_NAME = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?")


def _stable_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError("use lowercase letters, digits, '-' and '_' (at most 63), e.g. prod-us")
    return value


StableName = Annotated[str, AfterValidator(_stable_name)]
"""Names that appear in logs, metrics and Vault paths, so they stay stable and need no escaping."""
_UNPRINTABLE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def _vault_path(value: str) -> str:
    if any(segment in {"", ".", ".."} for segment in value.split("/")):
        raise ValueError(
            f"{value!r} has an empty, '.' or '..' segment; write names joined by single '/', "
            "with none at either end, e.g. langsmith/chatbot-prod"
        )
    if _UNPRINTABLE.search(value):
        raise ValueError(f"{value!r} contains whitespace or a control character")
    return value


VaultPath = Annotated[str, AfterValidator(_vault_path)]
"""A Vault mount, or a path under one: spelled one way only, so two spellings never name one place unnoticed."""


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


NonBlank = Annotated[str, AfterValidator(_non_blank)]


_Problem = tuple[tuple[str | int, ...], str]
"""Where in the config (a pydantic ``loc``), and what is wrong there."""
_PROBLEM_TYPE = "config_problem"


def _refuse(model: str, problems: Sequence[_Problem]) -> None:
    """Raise every problem at once, each at its own field; a ValueError carries only one."""
    if problems:
        raise ValidationError.from_exception_data(
            model,
            [
                InitErrorDetails(type=PydanticCustomError(_PROBLEM_TYPE, message), loc=loc, input=None)
                for loc, message in problems
            ],
        )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicySettings(_Strict):
    warn_before: Duration = timedelta(days=21)
    critical_before: Duration = timedelta(days=7)
    max_age: PositiveDuration = timedelta(days=90)

    @model_validator(mode="after")
    def _critical_within_warning(self) -> Self:
        if self.critical_before > self.warn_before:
            raise ValueError("critical_before: must not be longer than warn_before")
        return self

    def to_policy(self) -> ExpiryPolicy:
        return ExpiryPolicy(self.warn_before, self.critical_before, self.max_age)


class VaultRef(_Strict):
    """A field of a KV v2 secret; ``mount`` defaults to ``vault.kv_mount``."""

    path: VaultPath
    field: str = "api_key"
    mount: VaultPath | None = None


class SecretRef(_Strict):
    """Where a secret comes from: exactly one of an environment variable, a file, or a Vault KV v2 field."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: Path | None = None
    vault: VaultRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if sum(source is not None for source in (self.env, self.file, self.vault)) != 1:
            raise ValueError("env: give exactly one of env, file or vault")
        return self

    def resolve(self, environ: Mapping[str, str], needed_by: str) -> str:
        """The secret from the environment or a file; Vault references are resolved by the Vault adapter."""
        if self.env is not None:
            value = environ.get(self.env, "").strip()
            if not value:
                raise ConfigError([f"{self.env}: environment variable is not set or empty (needed by {needed_by})"])
            return value
        if self.file is not None:
            try:
                value = self.file.read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigError([f"{self.file}: cannot read (needed by {needed_by}): {error.strerror}"]) from None
            if not value:
                raise ConfigError([f"{self.file}: file is empty (needed by {needed_by})"])
            return value
        raise ConfigError([f"{needed_by}: a Vault reference needs the Vault adapter to resolve"])


class HttpSettings(_Strict):
    timeout: PositiveDuration = timedelta(seconds=10)
    max_attempts: int = Field(default=5, ge=1, le=20)
    max_retry_time: Duration = timedelta(seconds=60)
    """0 turns retries off: the first failure is final."""


class Watched(StrEnum):
    SERVICE_KEYS = "service_keys"
    PERSONAL_ACCESS_TOKENS = "personal_access_tokens"


class OrgSettings(_Strict):
    name: StableName
    endpoint: str = DEFAULT_ENDPOINT
    organization_id: UUID | None = None
    workspace_id: UUID | None = None
    fallback_workspace_id: UUID | None = None
    """With neither id set the organization is discovered from the key; if the key cannot list it (a
    workspace-scoped key), this workspace is watched instead (default: the key's own)."""
    api_key: SecretRef = SecretRef(env="LANGSMITH_API_KEY")
    """The org's admin key: from the environment, a file, or a Vault KV v2 field."""
    allow_insecure_http: bool = False
    policy: PolicySettings | None = None
    """Overrides the top-level policy for this org."""
    watch: frozenset[Watched] = frozenset(Watched)
    """LangSmith lists a caller only its own PATs: an entry holding a person's PAT can watch just those."""

    @field_validator("endpoint")
    @classmethod
    def _normalized_endpoint(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL, e.g. https://eu.api.smith.langchain.com")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query string or fragment")
        return normalize_endpoint(value.strip())

    @model_validator(mode="after")
    def _safe_and_addressable(self) -> Self:
        host = urlsplit(self.endpoint).hostname or ""
        if urlsplit(self.endpoint).scheme == "http" and not _is_loopback(host) and not self.allow_insecure_http:
            raise ValueError(
                f"endpoint: plain http:// to {host} would send the API key unencrypted; "
                "use https:// or set allow_insecure_http: true"
            )
        if self.fallback_workspace_id is not None and not self.discovered:
            raise ValueError("fallback_workspace_id: used only when neither organization_id nor workspace_id is set")
        if not self.watch:
            raise ValueError("watch: list at least one of service_keys, personal_access_tokens")
        workspace_only = self.organization_id is None and self.workspace_id is not None
        if workspace_only and "watch" in self.model_fields_set and Watched.SERVICE_KEYS not in self.watch:
            raise ValueError("watch: without organization_id only the workspace's service keys can be listed")
        return self

    @property
    def discovered(self) -> bool:
        """Neither id is set: the rotator finds out from the key which organization (or workspace) it is."""
        return self.organization_id is None and self.workspace_id is None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TokenAuthSettings(_Strict):
    method: Literal["token"] = "token"
    token: SecretRef = SecretRef(env="VAULT_TOKEN")


class AppRoleAuthSettings(_Strict):
    method: Literal["approle"]
    role_id: SecretRef
    secret_id: SecretRef
    mount: VaultPath = "approle"


class KubernetesAuthSettings(_Strict):
    method: Literal["kubernetes"]
    role: str = Field(min_length=1)
    jwt_file: Path = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
    mount: VaultPath = "kubernetes"


VaultAuthSettings = Annotated[
    TokenAuthSettings | AppRoleAuthSettings | KubernetesAuthSettings, Field(discriminator="method")
]


_DEFAULT_KV_MOUNT = "secret"


class VaultSettings(_Strict):
    """Defaults come from VAULT_ADDR, VAULT_NAMESPACE, VAULT_CACERT and VAULT_SKIP_VERIFY."""

    address: str
    namespace: str | None = None
    ca_cert: Path | None = None
    skip_verify: bool = False
    timeout: PositiveDuration = timedelta(seconds=10)
    auth: VaultAuthSettings = TokenAuthSettings()
    kv_mount: VaultPath = _DEFAULT_KV_MOUNT
    state_prefix: VaultPath = Field(default="langsmith-rotator", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
    """Where the journal lives, under ``kv_mount``: ``<state_prefix>/secrets/<name>``."""

    @field_validator("address")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL, e.g. https://vault.example.com:8200")
        return value.rstrip("/")


class LeaseSettings(_Strict):
    """The lock that lets one process at a time rotate; deployments sharding orgs give each its own name."""

    name: StableName = "default"
    ttl: Duration = timedelta(seconds=60)

    @field_validator("ttl")
    @classmethod
    def _long_enough(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=15):
            raise ValueError("must be at least 15s")
        return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RotationWindowSettings(_Strict):
    """When keys may be created and deleted (UTC); monitoring runs at any time."""

    days: list[Weekday] = list(_WEEKDAYS)
    start: str = Field(default="00:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(default="24:00", pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start >= self.end:
            raise ValueError("end: must be later than start (windows do not cross midnight; use two days)")
        if not self.days:
            raise ValueError("days: list at least one day")
        return self

    def to_window(self) -> RotationWindow:
        return RotationWindow(
            frozenset(_WEEKDAYS.index(day) for day in self.days), _minutes(self.start), _minutes(self.end)
        )


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


_LISTEN = re.compile(r"(?P<host>[^:\s]*):(?P<port>\d+)")
_MAX_PORT = 65535


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``daemon.listen``, ``--listen``) as an address to bind; an empty host is every interface."""
    match = _LISTEN.fullmatch(text)
    if match is None:
        raise ValueError("use HOST:PORT, e.g. 0.0.0.0:9464")
    port = match["port"]
    if len(port) > len(str(_MAX_PORT)) or int(port) > _MAX_PORT:
        raise ValueError(f"port {port} is out of range (at most {_MAX_PORT})")
    return match["host"] or "0.0.0.0", int(port)  # noqa: S104 - an exporter in a pod listens on all interfaces


class DaemonSettings(_Strict):
    """`rotator run`: the schedule, the HTTP address for metrics and probes, and how long shutdown may take."""

    jitter: Duration = timedelta(seconds=30)
    """Each run starts up to this much later, so replicas and restarts do not hit LangSmith in step."""
    cron: str | None = None
    """A crontab line (UTC), e.g. ``*/15 * * * *``; replaces poll_interval when set."""
    listen: str = Field(default="0.0.0.0:9464", pattern=r"^[^:\s]*:\d{1,5}$")
    shutdown_timeout: Duration = timedelta(seconds=30)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as error:
                raise ValueError(f"{value!r} is not a crontab line (minute hour day month weekday): {error}") from None
        return value

    @field_validator("listen")
    @classmethod
    def _bindable(cls, value: str) -> str:
        parse_listen(value)
        return value

    @property
    def listen_address(self) -> tuple[str, int]:
        return parse_listen(self.listen)


class SinkFilters(_Strict):
    """Send only alerts about these orgs, key kinds, or managed (true) / unmanaged (false) keys."""

    orgs: list[str] | None = None
    kinds: list[Literal["service_key", "personal_access_token"]] | None = None
    managed: bool | None = None


class _SinkSettings(_Strict):
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


class BasicAuthSettings(_Strict):
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
        problems: list[_Problem] = []
        if self.bearer_token is not None and self.basic_auth is not None:
            problems.append((("bearer_token",), "give bearer_token or basic_auth, not both"))
        if (self.bearer_token or self.basic_auth) and any(h.lower() == "authorization" for h in self.headers):
            problems.append((("headers",), "Authorization is set by bearer_token or basic_auth; do not repeat it"))
        _refuse("AlertmanagerSinkSettings", problems)
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


class AlertmanagerConventions(_Strict):
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


class AlertsSettings(_Strict):
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


class AdoptSettings(_Strict):
    """How the managed key is found the first time: by id, or by an exact description."""

    key_id: UUID | None = None
    description: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.key_id is None) == (self.description is None):
            raise ValueError("key_id: give exactly one of key_id or description")
        return self


class ManagedSecretSettings(_Strict):
    name: StableName
    """Stable logical name, used in logs, metrics and alerts."""
    org: str
    path: VaultPath
    """The KV v2 path apps read, without the mount or ``data/``, e.g. ``langsmith/chatbot-prod``."""
    mount: VaultPath | None = None
    field: str = Field(default="api_key", min_length=1)
    adopt: AdoptSettings
    lifetime: Duration | None = None
    """Lifetime of new keys; default the old key's; always capped at the org's max_service_key_expiry_days."""
    rotate_before: PositiveDuration | None = None
    """Rotate this long before expiry; default when two thirds of the lifetime have passed."""
    grace_period: Duration = timedelta(hours=24)
    max_grace: Duration = timedelta(days=7)
    scope: Literal["organization"] | list[str] | None = None
    """Pins the key's scope: ``organization``, or the display names of its workspaces; default: as listed."""
    role: NonBlank | None = None
    """Pins the key's workspace role, by display name (``Editor``) or role id; default: as listed."""
    org_role: NonBlank | None = None
    """Pins an organization-scoped key's org role, by display name or role id; default: as listed."""

    @field_validator("scope", mode="before")
    @classmethod
    def _organization_or_workspaces(cls, value: object) -> object:
        if value is None or value == "organization":
            return value
        if not (isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value)):
            raise ValueError("write organization, or a list of workspace names, e.g. [Production, Staging]")
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"workspace names must be unique; repeated: {', '.join(repeated)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = []
        if self.max_grace < self.grace_period:
            problems.append("max_grace: must not be shorter than grace_period")
        if self.org_role is not None and isinstance(self.scope, list):
            problems.append("org_role: applies only to organization-scoped keys")
        if self.lifetime is not None and self.lifetime < timedelta(days=1):
            problems.append("lifetime: must be at least 1d")
        elif self.lifetime is not None and self.lifetime > MAX_LIFETIME:
            problems.append(f"lifetime: must be at most {MAX_LIFETIME.days}d")
        elif self.lifetime is not None:
            problems += timing_problems(
                lifetime=self.lifetime,
                rotate_before=self.rotate_before,
                grace_period=self.grace_period,
                max_grace=self.max_grace,
            )
        lines = (problem.partition(": ") for problem in problems)
        _refuse("ManagedSecretSettings", [((field,), message) for field, _, message in lines])
        return self


class Settings(_Strict):
    policy: PolicySettings = PolicySettings()
    poll_interval: Duration = timedelta(minutes=15)
    http: HttpSettings = HttpSettings()
    orgs: list[OrgSettings] = Field(min_length=1)
    vault: VaultSettings | None = None
    managed: list[ManagedSecretSettings] = []
    lease: LeaseSettings = LeaseSettings()
    rotation_window: RotationWindowSettings | None = None
    daemon: DaemonSettings = DaemonSettings()
    alerts: AlertsSettings = AlertsSettings()
    _from_environment: bool = PrivateAttr(default=False)

    @property
    def from_environment(self) -> bool:
        """Loaded from the LANGSMITH_* variables alone: messages then name variables, not config fields."""
        return self._from_environment

    @model_validator(mode="after")
    def _managed_secrets_resolvable(self) -> Self:
        """Every problem across fields at once; pydantic runs this only when each field on its own is valid."""
        problems: list[_Problem] = []
        orgs = {org.name: org for org in self.orgs}
        for index, secret in enumerate(self.managed):
            org = orgs.get(secret.org)
            if org is None:
                problems.append((("managed", index, "org"), f"no org named {secret.org!r} (known: {', '.join(orgs)})"))
            elif org.organization_id is None:
                problems.append((("managed", index, "org"), f"org {org.name!r} needs organization_id to manage keys"))
        names = [secret.name for secret in self.managed]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            problems.append((("managed",), f"names must be unique; repeated: {', '.join(repeated)}"))
        kv_mount = self.vault.kv_mount if self.vault is not None else _DEFAULT_KV_MOUNT
        places: dict[tuple[str, str], list[str]] = {}
        for index, secret in enumerate(self.managed):
            places.setdefault((secret.mount or kv_mount, secret.path), []).append(f"managed[{index}]")
        for (mount, path), entries in places.items():
            if len(entries) > 1:
                listed = f"{', '.join(entries[:-1])} and {entries[-1]}"
                problems.append(
                    (("managed",), f"{len(entries)} secrets share one Vault path ({mount}/{path}: {listed})")
                )
        refs = [org.api_key for org in self.orgs] + [
            value for sink in self.alerts.sinks for value in dict(sink).values() if isinstance(value, SecretRef)
        ]
        refs += [
            ref
            for sink in self.alerts.sinks
            if isinstance(sink, AlertmanagerSinkSettings)
            for ref in sink.secret_refs()
        ]
        if (self.managed or any(ref.vault for ref in refs)) and self.vault is None:
            problems.append((("vault",), "managed secrets and Vault references need vault settings (or VAULT_ADDR)"))
        _refuse("Settings", problems)
        return self

    def managed_secret(self, name: str) -> ManagedSecretSettings:
        for secret in self.managed:
            if secret.name == name:
                return secret
        raise ConfigError([f"managed: no managed secret named {name!r}"])

    def org_named(self, name: str) -> OrgSettings:
        return next(org for org in self.orgs if org.name == name)

    @field_validator("poll_interval")
    @classmethod
    def _sane_interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=10):
            raise ValueError("must be at least 10s (LangSmith rate-limits each key)")
        return value

    @field_validator("orgs")
    @classmethod
    def _unique_names(cls, orgs: list[OrgSettings]) -> list[OrgSettings]:
        names = [org.name for org in orgs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"org names must be unique; repeated: {', '.join(duplicates)}")
        return orgs

    def policy_for(self, org: OrgSettings) -> ExpiryPolicy:
        return (org.policy or self.policy).to_policy()


class _Environment(BaseSettings):
    """The variables LangSmith SDK users already set, for the one-organization case."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=True)

    LANGSMITH_ENDPOINT: str = DEFAULT_ENDPOINT
    LANGSMITH_ORGANIZATION_ID: str | None = None
    LANGSMITH_WORKSPACE_ID: str | None = None
    LANGSMITH_ALLOW_INSECURE_HTTP: bool = False
    ROTATOR_CONFIG: str | None = None
    VAULT_ADDR: str | None = None
    VAULT_NAMESPACE: str | None = None
    VAULT_CACERT: str | None = None
    VAULT_SKIP_VERIFY: str | None = None

    def vault_defaults(self) -> dict[str, object]:
        defaults = {
            "address": self.VAULT_ADDR,
            "namespace": self.VAULT_NAMESPACE,
            "ca_cert": self.VAULT_CACERT,
            "skip_verify": self.VAULT_SKIP_VERIFY,
        }
        return {key: value for key, value in defaults.items() if value}


_ENV_FIELD_NAMES = {
    "endpoint": "LANGSMITH_ENDPOINT",
    "organization_id": "LANGSMITH_ORGANIZATION_ID",
    "workspace_id": "LANGSMITH_WORKSPACE_ID",
    "fallback_workspace_id": "LANGSMITH_WORKSPACE_ID",
    "allow_insecure_http": "LANGSMITH_ALLOW_INSECURE_HTTP",
}
_ENV_WORDS = {"set allow_insecure_http: true": "set LANGSMITH_ALLOW_INSECURE_HTTP=true"}
"""Advice a config-file user would get, in the words of one who has only environment variables."""


def load_settings(config_path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Load from ``config_path`` (or ``$ROTATOR_CONFIG``) if given, else from the LANGSMITH_* variables."""
    environ = os.environ if environ is None else environ
    env = _Environment.model_validate(dict(environ))
    path = config_path or env.ROTATOR_CONFIG
    if path:
        data = _read_yaml(Path(path))
        vault = data.get("vault", {})
        if isinstance(vault, dict) and (vault or data.get("managed") or _uses_vault_refs(data)):
            data["vault"] = {**env.vault_defaults(), **vault}
        return _validate(data, field_names={})
    # Without an org id the org is discovered from the key; LANGSMITH_WORKSPACE_ID, which SDK users set for
    # multi-workspace keys, then only names the workspace to fall back to, so an org key still sees the org.
    org_id = env.LANGSMITH_ORGANIZATION_ID or None
    workspace = env.LANGSMITH_WORKSPACE_ID or None
    org = {
        "name": "default",
        "endpoint": env.LANGSMITH_ENDPOINT,
        "organization_id": org_id,
        "workspace_id": workspace if org_id else None,
        "fallback_workspace_id": None if org_id else workspace,
        "allow_insecure_http": env.LANGSMITH_ALLOW_INSECURE_HTTP,
    }
    settings = _validate({"orgs": [org]}, field_names=_ENV_FIELD_NAMES)
    settings._from_environment = True
    return settings


def _uses_vault_refs(data: dict[str, Any]) -> bool:
    """Whether a secret anywhere (an org's api_key, a sink's URL, ...) is read from Vault."""
    return any(_mentions_vault(value) for key, value in data.items() if key != "vault")


def _mentions_vault(value: object) -> bool:
    if isinstance(value, dict):
        return "vault" in value or any(_mentions_vault(v) for v in value.values())
    return isinstance(value, list) and any(_mentions_vault(v) for v in value)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that notes each mapping key given twice, which safe_load would silently resolve to the last."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        first_lines: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue  # keys beside a merge (<<) override the merged ones on purpose
            line = key.start_mark.line + 1
            earlier = first_lines.get((key.tag, key.value))
            if earlier is None:
                first_lines[(key.tag, key.value)] = line
            else:
                self.duplicates.append(
                    (
                        line,
                        f"line {line}: duplicate key {key.value!r} "
                        f"(also on line {earlier}; the earlier one would be silently ignored)",
                    )
                )
        return node


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror}"]) from None
    loader = _UniqueKeyLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError([f"{path}: {where}not valid YAML: {getattr(error, 'problem', error)}"]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ConfigError([f"{path}: {problem}" for _, problem in sorted(loader.duplicates)])
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping with at least 'orgs'"])
    return data


def _validate(data: Any, field_names: Mapping[str, str]) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise ConfigError([_describe(e, field_names) for e in error.errors()]) from None


def _describe(error: Any, field_names: Mapping[str, str]) -> str:
    described = _describe_at(error, field_names)
    if field_names:  # environment mode
        for words, env_words in _ENV_WORDS.items():
            described = described.replace(words, env_words)
    return described


def _describe_at(error: Any, field_names: Mapping[str, str]) -> str:
    loc = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
    message = str(error["msg"]).removeprefix("Value error, ")
    if loc and loc[-1] == "[key]":  # a mapping's key is at fault, not its value
        loc, message = loc[:-1], f"the name {loc[-2]!r}: {message}"
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "required field is missing"
    named = _NAMED_FIELD.match(message) if error["type"] != _PROBLEM_TYPE else None
    if named:  # a model validator naming the field it is about, relative to where it runs
        loc, message = [*loc, named["field"]], named["message"]
    if field_names and loc and loc[-1] in field_names:
        return f"{field_names[str(loc[-1])]}: {message}"
    return f"{_path(loc) or 'config'}: {message}"


_NAMED_FIELD = re.compile(r"(?P<field>[A-Za-z_][\w.\[\]]*): (?P<message>.+)", re.DOTALL)


def _path(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text

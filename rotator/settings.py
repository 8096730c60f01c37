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
from typing import Annotated, Any, Self
from urllib.parse import urlsplit
from uuid import UUID

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from rotator.domain.durations import parse_duration
from rotator.domain.policy import ExpiryPolicy
from rotator.langsmith.endpoints import DEFAULT_ENDPOINT, normalize_endpoint


class ConfigError(Exception):
    """Invalid settings; ``problems`` are ``field: problem`` lines."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"config error: {p}" for p in self.problems))


def _duration(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return timedelta(0)
    if isinstance(value, timedelta):
        return value
    raise ValueError(f"{value!r} is not a duration: write it like 14d, 36h or 90m")


Duration = Annotated[timedelta, BeforeValidator(_duration)]
_NAME = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicySettings(_Strict):
    warn_before: Duration = timedelta(days=21)
    critical_before: Duration = timedelta(days=7)
    max_age: Duration = timedelta(days=90)

    @model_validator(mode="after")
    def _critical_within_warning(self) -> Self:
        if self.critical_before > self.warn_before:
            raise ValueError("critical_before: must not be longer than warn_before")
        if self.max_age <= timedelta(0):
            raise ValueError("max_age: must be longer than 0")
        return self

    def to_policy(self) -> ExpiryPolicy:
        return ExpiryPolicy(self.warn_before, self.critical_before, self.max_age)


class SecretRef(_Strict):
    """Where a secret comes from. Only environment variables for now."""

    env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    def resolve(self, environ: Mapping[str, str], needed_by: str) -> str:
        value = environ.get(self.env, "").strip()
        if not value:
            raise ConfigError([f"{self.env}: environment variable is not set or empty (needed by {needed_by})"])
        return value


class HttpSettings(_Strict):
    timeout: Duration = timedelta(seconds=10)
    max_attempts: int = Field(default=5, ge=1, le=20)
    max_retry_time: Duration = timedelta(seconds=60)


class Watched(StrEnum):
    SERVICE_KEYS = "service_keys"
    PERSONAL_ACCESS_TOKENS = "personal_access_tokens"


class OrgSettings(_Strict):
    name: str
    endpoint: str = DEFAULT_ENDPOINT
    organization_id: UUID | None = None
    workspace_id: UUID | None = None
    api_key: SecretRef = SecretRef(env="LANGSMITH_API_KEY")
    allow_insecure_http: bool = False
    policy: PolicySettings | None = None
    """Overrides the top-level policy for this org."""
    watch: frozenset[Watched] = frozenset(Watched)
    """LangSmith lists a caller only its own PATs: an entry holding a person's PAT can watch just those."""

    @field_validator("name")
    @classmethod
    def _stable_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("use lowercase letters, digits, '-' and '_' (at most 63), e.g. prod-us")
        return value

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
        if self.organization_id is None and self.workspace_id is None:
            raise ValueError(
                "organization_id: set organization_id (to list every key of the org) "
                "or workspace_id (to list one workspace's service keys)"
            )
        if not self.watch:
            raise ValueError("watch: list at least one of service_keys, personal_access_tokens")
        if self.organization_id is None and "watch" in self.model_fields_set and Watched.SERVICE_KEYS not in self.watch:
            raise ValueError("watch: without organization_id only the workspace's service keys can be listed")
        return self


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(_Strict):
    policy: PolicySettings = PolicySettings()
    poll_interval: Duration = timedelta(minutes=15)
    http: HttpSettings = HttpSettings()
    orgs: list[OrgSettings] = Field(min_length=1)

    @field_validator("poll_interval")
    @classmethod
    def _sane_interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(minutes=1):
            raise ValueError("must be at least 1m (LangSmith rate-limits each key)")
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
    ROTATOR_CONFIG: str | None = None


_ENV_FIELD_NAMES = {
    "endpoint": "LANGSMITH_ENDPOINT",
    "organization_id": "LANGSMITH_ORGANIZATION_ID",
    "workspace_id": "LANGSMITH_WORKSPACE_ID",
}


def load_settings(config_path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Load from ``config_path`` (or ``$ROTATOR_CONFIG``) if given, else from the LANGSMITH_* variables."""
    environ = os.environ if environ is None else environ
    env = _Environment.model_validate(dict(environ))
    path = config_path or env.ROTATOR_CONFIG
    if path:
        return _validate(_read_yaml(Path(path)), field_names={})
    org = {
        "name": "default",
        "endpoint": env.LANGSMITH_ENDPOINT,
        "organization_id": env.LANGSMITH_ORGANIZATION_ID or None,
        "workspace_id": env.LANGSMITH_WORKSPACE_ID or None,
    }
    return _validate({"orgs": [org]}, field_names=_ENV_FIELD_NAMES)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError([f"{path}: {where}not valid YAML: {getattr(error, 'problem', error)}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping with at least 'orgs'"])
    return data


def _validate(data: Any, field_names: Mapping[str, str]) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise ConfigError([_describe(e, field_names) for e in error.errors()]) from None


def _describe(error: Any, field_names: Mapping[str, str]) -> str:
    loc = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "required field is missing"
    leaf, _, rest = message.partition(": ")
    if rest and leaf.isidentifier():  # a model validator naming the field it is about
        loc, message = [*loc, leaf], rest
    if field_names and loc and loc[-1] in field_names:
        return f"{field_names[str(loc[-1])]}: {message}"
    return f"{_path(loc) or 'config'}: {message}"


def _path(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text

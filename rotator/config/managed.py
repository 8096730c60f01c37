"""Managed secrets: the service keys the rotator replaces, the Vault field each is written to, and their timing."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, Self
from uuid import UUID

from pydantic import Field, field_validator, model_validator

from rotator.config.errors import ConfigProblem, invalid
from rotator.config.fields import Duration, NonBlank, PositiveDuration, StableName, StrictModel, VaultPath
from rotator.domain.timing import MAX_LIFETIME, timing_problems


class AdoptSettings(StrictModel):
    """How the managed key is found the first time: by id, or by an exact description."""

    key_id: UUID | None = None
    description: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.key_id is None) == (self.description is None):
            raise invalid(AdoptSettings, ConfigProblem(("key_id",), "give exactly one of key_id or description"))
        return self


class ManagedSecretSettings(StrictModel, populate_by_name=True):
    name: StableName
    """Stable logical name, used in logs, metrics and alerts."""
    org: str
    path: VaultPath
    """The KV v2 path apps read, without the mount or ``data/``, e.g. ``langsmith/chatbot-prod``; for the
    rotator's own admin key (``self: true``), the org's ``api_key.vault`` path."""
    mount: VaultPath | None = None
    field: str = Field(default="api_key", min_length=1)
    adopt: AdoptSettings | None = None
    """How the key is found the first time; default: the key whose secret the path already holds."""
    manages_admin_key: bool = Field(default=False, alias="self")
    """This is the rotator's own admin key for its org: after each rotation the rotator uses the new key at
    once. Set by ``self: true``, or found when the entry points at the org's ``api_key.vault`` field."""
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
            problems.append(ConfigProblem(("max_grace",), "must not be shorter than grace_period"))
        if self.org_role is not None and isinstance(self.scope, list):
            problems.append(ConfigProblem(("org_role",), "applies only to organization-scoped keys"))
        if self.lifetime is not None and self.lifetime < timedelta(days=1):
            problems.append(ConfigProblem(("lifetime",), "must be at least 1d"))
        elif self.lifetime is not None and self.lifetime > MAX_LIFETIME:
            problems.append(ConfigProblem(("lifetime",), f"must be at most {MAX_LIFETIME.days}d"))
        elif self.lifetime is not None:
            lines = timing_problems(
                lifetime=self.lifetime,
                rotate_before=self.rotate_before,
                grace_period=self.grace_period,
                max_grace=self.max_grace,
            )
            for field, _, message in (line.partition(": ") for line in lines):  # the domain's ``field: problem``
                problems.append(ConfigProblem((field,), message))
        if problems:
            raise invalid(ManagedSecretSettings, *problems)
        return self

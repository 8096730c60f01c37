"""Where a secret comes from: an environment variable, a file, or a field of a Vault KV v2 secret."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from rotator.config.errors import ConfigProblem, invalid
from rotator.config.fields import StrictModel, VaultPath


class VaultRef(StrictModel):
    """A field of a KV v2 secret; ``mount`` defaults to ``vault.kv_mount``."""

    path: VaultPath
    field: str = "api_key"
    mount: VaultPath | None = None


class SecretRef(StrictModel):
    """Where a secret comes from: exactly one of an environment variable, a file, or a Vault KV v2 field."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: Path | None = None
    vault: VaultRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if sum(source is not None for source in (self.env, self.file, self.vault)) != 1:
            raise invalid(SecretRef, ConfigProblem(("env",), "give exactly one of env, file or vault"))
        return self

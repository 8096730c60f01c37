"""Loading settings: from a YAML file with Vault defaults from the environment, or from the environment alone.

Every problem is reported as ``field: problem`` with the field spelled as the user wrote it, e.g.
``orgs[1].endpoint: ...`` for the config file or ``LANGSMITH_ENDPOINT: ...`` for the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rotator.config.environment import ENV_FIELD_NAMES, ENV_WORDS, Environment
from rotator.config.errors import ConfigError
from rotator.config.messages import describe
from rotator.config.settings import Settings
from rotator.config.yaml_file import read_yaml


def load_settings(config_path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Load from ``config_path`` (or ``$ROTATOR_CONFIG``) if given, else from the LANGSMITH_* variables."""
    environ = os.environ if environ is None else environ
    try:
        env = Environment.model_validate(dict(environ))
    except ValidationError as error:  # the loc is the variable's own name
        raise ConfigError([describe(e, {}, {}) for e in error.errors()]) from None
    path = config_path or env.ROTATOR_CONFIG
    if path:
        data = read_yaml(Path(path))
        vault = data.get("vault", {})
        if isinstance(vault, dict) and (vault or data.get("managed") or _uses_vault_refs(data)):
            data["vault"] = {**env.vault_defaults(), **vault}
        return _validate(data, variables={}, advice={})
    settings = _validate({"orgs": [env.org()]}, variables=ENV_FIELD_NAMES, advice=ENV_WORDS)
    settings._from_environment = True
    return settings


def _uses_vault_refs(data: dict[str, Any]) -> bool:
    """Whether a secret anywhere (an org's api_key, a sink's URL, ...) is read from Vault."""
    return any(_mentions_vault(value) for key, value in data.items() if key != "vault")


def _mentions_vault(value: object) -> bool:
    if isinstance(value, dict):
        return "vault" in value or any(_mentions_vault(v) for v in value.values())
    return isinstance(value, list) and any(_mentions_vault(v) for v in value)


def _validate(data: Any, variables: Mapping[str, str], advice: Mapping[str, str]) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise ConfigError([describe(e, variables, advice) for e in error.errors()]) from None

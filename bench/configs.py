"""The rotator's config for a scenario, built in one place so that the knobs being added to the product
(``http.requests_per_minute``, the ``concurrency`` section) are set the same way everywhere.

A knob the product does not know yet is left out, and said so in ``Knobs.skipped``: the scenario then measures
the product as it is, which is the "before" number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.worlds import World
from rotator.config import HttpSettings, Settings

ADMIN_KEY_ENV = "BENCH_ADMIN_KEY_{index}"
VAULT_TOKEN_ENV = "BENCH_VAULT_TOKEN"


@dataclass(frozen=True)
class VaultTarget:
    address: str
    token: str
    state_prefix: str
    lease_name: str


@dataclass
class Knobs:
    """What the scenario asked of the product's config, and which of it the product took."""

    applied: dict[str, object] = field(default_factory=dict)
    skipped: dict[str, object] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"{name}={value}" for name, value in self.applied.items()]
        parts += [f"{name}={value} (not in the product yet)" for name, value in self.skipped.items()]
        return ", ".join(parts) or "product defaults"


def concurrency_fields() -> set[str]:
    """The fields of the product's ``concurrency`` section; empty while it has none."""
    info = Settings.model_fields.get("concurrency")
    fields = getattr(type(info.default), "model_fields", None) if info is not None else None
    return set(fields) if isinstance(fields, Mapping) else set()


def rotator_config(
    world: World,
    endpoint: str,
    *,
    vault: VaultTarget | None = None,
    requests_per_minute: int | None = None,
    concurrency: Mapping[str, int] | None = None,
    http: Mapping[str, object] | None = None,
    poll_interval: str | None = None,
    daemon: Mapping[str, object] | None = None,
) -> tuple[dict[str, Any], dict[str, str], Knobs]:
    """The config (as YAML data), the environment it reads the secrets from, and the knobs it could set.

    Every org has its id configured (nothing to discover); every managed key of the world is rotated with no
    grace period, so one cycle creates, stores and deletes. ``concurrency`` is set field by field, only the
    fields the product's ``concurrency`` section has.
    """
    knobs = Knobs()
    environ: dict[str, str] = {}
    orgs = []
    for index, org in enumerate(world.orgs):
        variable = ADMIN_KEY_ENV.format(index=index)
        environ[variable] = org.admin_secret
        orgs.append(
            {"name": org.name, "endpoint": endpoint, "organization_id": org.org_id, "api_key": {"env": variable}}
        )
    config: dict[str, Any] = {"orgs": orgs}
    http_section: dict[str, object] = dict(http or {})
    if requests_per_minute is not None:
        if "requests_per_minute" in HttpSettings.model_fields:
            http_section["requests_per_minute"] = requests_per_minute
            knobs.applied["http.requests_per_minute"] = requests_per_minute
        else:
            knobs.skipped["http.requests_per_minute"] = requests_per_minute
    if http_section:
        config["http"] = http_section
    if concurrency:
        known = concurrency_fields()
        section = {name: value for name, value in concurrency.items() if name in known}
        for name, value in concurrency.items():
            (knobs.applied if name in known else knobs.skipped)[f"concurrency.{name}"] = value
        if section:
            config["concurrency"] = section
    if vault is not None:
        environ[VAULT_TOKEN_ENV] = vault.token
        config["vault"] = {
            "address": vault.address,
            "auth": {"method": "token", "token": {"env": VAULT_TOKEN_ENV}},
            "state_prefix": vault.state_prefix,
        }
        config["lease"] = {"name": vault.lease_name}
    if world.managed:
        config["managed"] = [
            {"name": key.name, "org": key.org, "path": key.path, "grace_period": "0s"} for key in world.managed
        ]
    if poll_interval is not None:
        config["poll_interval"] = poll_interval
    if daemon is not None:
        config["daemon"] = dict(daemon)
    Settings.model_validate(config)  # a mistake here is the bench's: say so before any timing starts
    return config, environ, knobs


def write_config(directory: Path, name: str, config: Mapping[str, Any]) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
    return path

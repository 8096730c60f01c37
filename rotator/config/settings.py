"""The whole config: the organizations to watch, the secrets to rotate, and how the rotator runs and alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Self

from pydantic import Field, PrivateAttr, field_validator, model_validator

from rotator.config.alerts import AlertmanagerSinkSettings, AlertsSettings
from rotator.config.concurrency import ConcurrencySettings
from rotator.config.daemon import DaemonSettings, RotationWindowSettings
from rotator.config.errors import ConfigError, ConfigProblem, invalid
from rotator.config.fields import Duration, StrictModel
from rotator.config.managed import ManagedSecretSettings
from rotator.config.orgs import HttpSettings, OrgSettings, PolicySettings
from rotator.config.secret_refs import SecretRef
from rotator.config.vault import DEFAULT_KV_MOUNT, LeaseSettings, VaultSettings
from rotator.domain.policy import ExpiryPolicy


class Settings(StrictModel):
    policy: PolicySettings = PolicySettings()
    poll_interval: Duration = timedelta(minutes=15)
    http: HttpSettings = HttpSettings()
    concurrency: ConcurrencySettings = ConcurrencySettings()
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

    @model_validator(mode="before")
    @classmethod
    def _self_managed_paths(cls, data: Any) -> Any:
        """A ``self: true`` entry stores the org's admin key where the rotator reads it: the org's
        ``api_key.vault`` path, mount and field, unless the entry names them (then they must agree)."""
        if not isinstance(data, dict) or not isinstance(data.get("managed"), list):
            return data
        listed = data.get("orgs")
        orgs = {
            org["name"]: org
            for org in (listed if isinstance(listed, list) else [])
            if isinstance(org, dict) and isinstance(org.get("name"), str)
        }
        managed, problems = [], []
        for index, entry in enumerate(data["managed"]):
            named = entry.get("org") if isinstance(entry, dict) and entry.get("self") is True else None
            org = orgs.get(named) if isinstance(named, str) else None
            if org is None or "path" in entry:
                managed.append(entry)
                continue
            ref = _vault_ref_of(org)
            if ref is None:
                problems.append(ConfigProblem(("managed", index, "self"), _not_in_vault(org)))
                continue
            managed.append(
                {**{name: ref[name] for name in ("mount", "field") if name in ref}, **entry, "path": ref["path"]}
            )
        if problems:
            raise invalid(Settings, *problems)
        return {**data, "managed": managed}

    @model_validator(mode="after")
    def _managed_secrets_resolvable(self) -> Self:
        """Every problem across fields at once; pydantic runs this only when each field on its own is valid."""
        problems: list[ConfigProblem] = []
        orgs = {org.name: org for org in self.orgs}
        for index, secret in enumerate(self.managed):
            org = orgs.get(secret.org)
            if org is None:
                problems.append(
                    ConfigProblem(("managed", index, "org"), f"no org named {secret.org!r} (known: {', '.join(orgs)})")
                )
            elif org.organization_id is None:
                problems.append(
                    ConfigProblem(("managed", index, "org"), f"org {org.name!r} needs organization_id to manage keys")
                )
        problems += self._admin_key_entries()
        problems += self._one_of_each()
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
            problems.append(
                ConfigProblem(("vault",), "managed secrets and Vault references need vault settings (or VAULT_ADDR)")
            )
        if problems:
            raise invalid(Settings, *problems)
        return self

    def _one_of_each(self) -> list[ConfigProblem]:
        """Managed entries run at once, so no two may share a name, a Vault path or the key they adopt."""
        problems: list[ConfigProblem] = []
        names = [secret.name for secret in self.managed]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            problems.append(ConfigProblem(("managed",), f"names must be unique; repeated: {', '.join(repeated)}"))
        kv_mount = self.vault.kv_mount if self.vault is not None else DEFAULT_KV_MOUNT
        places: dict[tuple[str, str], list[str]] = {}
        for index, secret in enumerate(self.managed):
            places.setdefault((secret.mount or kv_mount, secret.path), []).append(f"managed[{index}]")
        adopted: dict[tuple[str, str], list[str]] = {}
        for index, secret in enumerate(self.managed):
            if secret.adopt is not None and secret.adopt.key_id is not None:
                adopted.setdefault((secret.org, str(secret.adopt.key_id)), []).append(f"managed[{index}]")
        for (mount, path), entries in places.items():
            if len(entries) > 1:
                problems.append(_shared(f"share one Vault path ({mount}/{path}", entries))
        for (_, key_id), entries in adopted.items():
            if len(entries) > 1:  # their sagas run at once: each would rotate the key and delete the other's new one
                problems.append(_shared(f"adopt one key ({key_id}", entries))
        return problems

    def _admin_key_entries(self) -> list[ConfigProblem]:
        """Which managed entries are an org's own admin key, and whether each may be rotated as one: the
        rotator writes the new key where it reads its own (so it can switch to it), which must be Vault."""
        problems: list[ConfigProblem] = []
        kv_mount = self.vault.kv_mount if self.vault is not None else DEFAULT_KV_MOUNT
        admin_places = {
            ((org.api_key.vault.mount or kv_mount), org.api_key.vault.path): (index, org)
            for index, org in enumerate(self.orgs)
            if org.api_key.vault is not None
        }
        for index, secret in enumerate(self.managed):
            where = ("managed", index)
            found = admin_places.get((secret.mount or kv_mount, secret.path))
            org_index, org = found if found is not None else (None, None)
            own = next((o for o in self.orgs if o.name == secret.org), None)
            if secret.manages_admin_key and own is not None and own.api_key.vault is None:
                problems.append(ConfigProblem((*where, "self"), _not_in_vault(own.model_dump(exclude_none=True))))
            elif secret.manages_admin_key and own is not None and (org is None or org.name != secret.org):
                problems.append(
                    ConfigProblem(
                        (*where, "path"), "must be the org's api_key.vault path, where the rotator reads its admin key"
                    )
                )
            if org is None or org.api_key.vault is None:  # no org keeps its admin key at this path
                continue
            if org.name != secret.org:
                problems.append(
                    ConfigProblem((*where, "path"), f"is where orgs[{org_index}] ({org.name!r}) keeps its admin key")
                )
            elif org.api_key.vault.field != secret.field:
                problems.append(
                    ConfigProblem(
                        (*where, "field"),
                        f"the path holds orgs[{org_index}]'s admin key in field {org.api_key.vault.field!r}; a "
                        "rotation rewrites the whole secret, so give this key a path of its own or the same field",
                    )
                )
            elif not secret.manages_admin_key:
                self.managed[index] = secret.model_copy(update={"manages_admin_key": True})
        return problems

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


def _vault_ref_of(org: dict[str, Any]) -> dict[str, Any] | None:
    api_key = org.get("api_key")
    ref = api_key.get("vault") if isinstance(api_key, dict) else None
    return ref if isinstance(ref, dict) and "path" in ref else None


def _not_in_vault(org: dict[str, Any]) -> str:
    api_key = org.get("api_key")
    source = "an environment variable" if isinstance(api_key, dict) and "env" in api_key else "a file"
    return (
        f"org {org.get('name')!r} reads its admin key from {source}, where the rotator cannot store a new one: "
        "rotating its own admin key needs the org's api_key.vault"
    )


def _shared(what: str, entries: list[str]) -> ConfigProblem:
    """``what`` opens a parenthesis that the entries close: ``2 secrets share one Vault path (secret/x: managed[0]
    and managed[2])``."""
    listed = f"{', '.join(entries[:-1])} and {entries[-1]}"
    return ConfigProblem(("managed",), f"{len(entries)} secrets {what}: {listed})")

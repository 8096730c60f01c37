"""Settings: environment variables and an optional YAML file, validated once into typed, immutable objects.

The public face of the package; callers import from here (``from rotator.config import Settings``). One module
per section of the config, plus how it is loaded:

- ``errors``: ConfigError, and ConfigProblem, a problem at a location, which validators raise with ``invalid``
- ``fields``: the strict base model and shared field types (durations, stable names, Vault paths)
- ``secret_refs``: where a secret comes from (an environment variable, a file, or Vault)
- ``orgs``, ``vault``, ``managed``, ``alerts``, ``daemon``, ``concurrency``: the sections
- ``settings``: the whole config
- ``loader``: ``load_settings``, from ``yaml_file`` or ``environment``; ``messages`` words each problem
"""

from rotator.config.alerts import (
    AlertmanagerConventions,
    AlertmanagerSinkSettings,
    AlertsSettings,
    BasicAuthSettings,
    PagerDutySinkSettings,
    SinkFilters,
    SinkSettings,
    SlackSinkSettings,
    WebhookSinkSettings,
)
from rotator.config.concurrency import ConcurrencySettings
from rotator.config.daemon import DaemonSettings, RotationWindowSettings, parse_listen
from rotator.config.errors import ConfigError, ConfigProblem
from rotator.config.loader import load_settings
from rotator.config.managed import AdoptSettings, ManagedSecretSettings
from rotator.config.orgs import HttpSettings, OrgSettings, PolicySettings, Watched
from rotator.config.secret_refs import SecretRef, VaultRef
from rotator.config.settings import Settings
from rotator.config.vault import (
    AppRoleAuthSettings,
    KubernetesAuthSettings,
    LeaseSettings,
    TokenAuthSettings,
    VaultAuthSettings,
    VaultSettings,
)

__all__ = [
    "AdoptSettings",
    "AlertmanagerConventions",
    "AlertmanagerSinkSettings",
    "AlertsSettings",
    "AppRoleAuthSettings",
    "BasicAuthSettings",
    "ConcurrencySettings",
    "ConfigError",
    "ConfigProblem",
    "DaemonSettings",
    "HttpSettings",
    "KubernetesAuthSettings",
    "LeaseSettings",
    "ManagedSecretSettings",
    "OrgSettings",
    "PagerDutySinkSettings",
    "PolicySettings",
    "RotationWindowSettings",
    "SecretRef",
    "Settings",
    "SinkFilters",
    "SinkSettings",
    "SlackSinkSettings",
    "TokenAuthSettings",
    "VaultAuthSettings",
    "VaultRef",
    "VaultSettings",
    "Watched",
    "WebhookSinkSettings",
    "load_settings",
    "parse_listen",
]

"""The environment variables settings are read from: the LangSmith SDK's, for one organization, and Vault's."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from rotator.langsmith.endpoints import DEFAULT_ENDPOINT


class Environment(BaseSettings):
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

    def org(self) -> dict[str, object]:
        """The one org entry the LANGSMITH_* variables describe, as a config file would write it."""
        # Without an org id the org is discovered from the key; LANGSMITH_WORKSPACE_ID, which SDK users set for
        # multi-workspace keys, then only names the workspace to fall back to, so an org key still sees the org.
        org_id = self.LANGSMITH_ORGANIZATION_ID or None
        workspace = self.LANGSMITH_WORKSPACE_ID or None
        return {
            "name": "default",
            "endpoint": self.LANGSMITH_ENDPOINT,
            "organization_id": org_id,
            "workspace_id": workspace if org_id else None,
            "fallback_workspace_id": None if org_id else workspace,
            "allow_insecure_http": self.LANGSMITH_ALLOW_INSECURE_HTTP,
        }


ENV_FIELD_NAMES = {
    "endpoint": "LANGSMITH_ENDPOINT",
    "organization_id": "LANGSMITH_ORGANIZATION_ID",
    "workspace_id": "LANGSMITH_WORKSPACE_ID",
    "fallback_workspace_id": "LANGSMITH_WORKSPACE_ID",
    "allow_insecure_http": "LANGSMITH_ALLOW_INSECURE_HTTP",
}
"""The variable each field of the environment's org entry comes from, so that messages name it instead."""
ENV_WORDS = {"set allow_insecure_http: true": "set LANGSMITH_ALLOW_INSECURE_HTTP=true"}
"""Advice a config-file user would get, in the words of one who has only environment variables."""

"""Which organization (or workspace) an org entry without ids watches, found from its admin key.

A key belongs to one organization, so ``GET /orgs/current/info`` without ``X-Organization-Id`` names it. If
the key may then list the organization's service keys, the entry watches the whole organization; if not (a
workspace-scoped key), it watches one workspace: ``fallback_workspace_id`` or the key's own. Each answer comes
with the words that say which mode was chosen and why; a key that allows neither gets one line saying which
setting to give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from rotator.config import ConfigError, OrgSettings
from rotator.langsmith import LangSmithAuthError, LangSmithClient, LangSmithError, LangSmithPermissionError
from rotator.observability import redact_text

ClientFor = Callable[[OrgSettings], LangSmithClient]


@dataclass(frozen=True, slots=True)
class SettingNames:
    """How the user spells the settings involved: environment variables, or the org entry's fields."""

    api_key: str
    organization_id: str
    workspace_id: str

    @classmethod
    def environment(cls) -> SettingNames:
        return cls("LANGSMITH_API_KEY", "LANGSMITH_ORGANIZATION_ID", "LANGSMITH_WORKSPACE_ID")

    @classmethod
    def config(cls, index: int) -> SettingNames:
        where = f"orgs[{index}]"
        return cls(f"{where}.api_key", f"{where}.organization_id", f"{where}.fallback_workspace_id")


@dataclass(frozen=True, slots=True)
class Discovered:
    org: OrgSettings
    """The entry with organization_id, or workspace_id, set."""
    words: str
    """Which mode was chosen and why, for the operator."""


def discover(org: OrgSettings, client_for: ClientFor, names: SettingNames) -> Discovered:
    """Raises ``ConfigError`` (one line, naming the setting to give) when the key allows neither mode."""
    try:
        with client_for(org) as client:
            info = client.org_info()  # no ids yet: no X-Organization-Id, so LangSmith answers for the key's org
    except LangSmithAuthError as error:
        raise ConfigError([f"{names.api_key}: LangSmith rejected the key ({_said(error)})"]) from None
    except LangSmithError as error:
        why = f"LangSmith did not name the key's organization ({_said(error)})"
    else:
        whole = org.model_copy(update={"organization_id": UUID(info.id)})
        try:
            with client_for(whole) as client:
                client.list_org_service_keys()
        except LangSmithPermissionError as error:
            why = f"the key may not list the keys of organization {info.display_name} ({_said(error)})"
        else:
            ignored = (
                f"; {names.workspace_id} is not used to narrow it: the key sees the whole organization"
                if org.fallback_workspace_id is not None
                else ""
            )
            words = f"organization mode: org {info.display_name} ({info.id}), found from {names.api_key}{ignored}"
            return Discovered(whole.model_copy(update={"fallback_workspace_id": None}), words)
    return _one_workspace(org, client_for, names, why)


def _one_workspace(org: OrgSettings, client_for: ClientFor, names: SettingNames, why: str) -> Discovered:
    try:
        with client_for(org.model_copy(update={"workspace_id": org.fallback_workspace_id})) as client:
            workspace = client.current_workspace()  # without X-Tenant-Id: the key's own workspace
    except LangSmithError as error:
        raise ConfigError(
            [
                f"{names.organization_id}: cannot tell which organization {names.api_key} belongs to ({why}; and "
                f"no workspace answered: {_said(error)}); set {names.organization_id} to your organization's id "
                f"(LangSmith: Settings → Organization), or {names.workspace_id} to watch one workspace"
            ]
        ) from None
    scoped = org.model_copy(update={"workspace_id": UUID(workspace.id), "fallback_workspace_id": None})
    words = f"workspace mode: workspace {workspace.display_name} ({workspace.id}) only, because {why}"
    return Discovered(scoped, words)


def _said(error: LangSmithError) -> str:
    return redact_text(str(error))

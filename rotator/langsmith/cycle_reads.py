"""An org's admin client for one cycle: what does not change while keys rotate (the org's info, its workspaces,
its roles) is read once and shared by the inventory and every saga of the org; key listings, creates and
deletes always go to LangSmith, since they are what a saga decides on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Generic, Self, TypeVar

from rotator.domain.keys import ApiKey, CreatedKey, OrgInfo, Role, Workspace
from rotator.langsmith.client import LangSmithClient

T = TypeVar("T")


class _Once(Generic[T]):
    """Callers that ask at once wait for the first read; a read that failed is tried again by the next."""

    def __init__(self, read: Callable[[], T]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._value: list[T] = []

    def __call__(self) -> T:
        with self._lock:
            if not self._value:
                self._value.append(self._read())
            return self._value[0]


class CycleReads:
    def __init__(self, client: LangSmithClient) -> None:
        self._client = client
        self._org_info = _Once(client.org_info)
        self._workspaces = _Once(client.list_workspaces)
        self._roles = _Once(client.list_roles)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """The cycle closes it, once every user is done."""

    def close(self) -> None:
        self._client.close()

    def org_info(self) -> OrgInfo:
        return self._org_info()

    def list_workspaces(self) -> list[Workspace]:
        return list(self._workspaces())

    def list_roles(self) -> list[Role]:
        return list(self._roles())

    def current_workspace(self) -> Workspace:
        return self._client.current_workspace()

    def list_org_service_keys(self) -> list[ApiKey]:
        return self._client.list_org_service_keys()

    def list_personal_access_tokens(self) -> list[ApiKey]:
        return self._client.list_personal_access_tokens()

    def list_workspace_service_keys(self) -> list[ApiKey]:
        return self._client.list_workspace_service_keys()

    def create_org_service_key(
        self,
        *,
        description: str,
        expires_at: datetime | None,
        workspace_ids: Sequence[str] | None,
        role_id: str | None = None,
        org_role_id: str | None = None,
    ) -> CreatedKey:
        return self._client.create_org_service_key(
            description=description,
            expires_at=expires_at,
            workspace_ids=workspace_ids,
            role_id=role_id,
            org_role_id=org_role_id,
        )

    def delete_org_service_key(self, key_id: str) -> ApiKey:
        return self._client.delete_org_service_key(key_id)

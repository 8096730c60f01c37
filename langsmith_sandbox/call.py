"""What an API route receives once the dispatcher has authenticated and scoped the request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langsmith_sandbox.messages import Request, Response, forbidden
from langsmith_sandbox.model import KeyRecord, Organization, Workspace
from langsmith_sandbox.state import SandboxState


@dataclass(frozen=True)
class Call:
    request: Request
    caller: KeyRecord
    org: Organization
    params: dict[str, str]  # path parameters, already normalised UUIDs
    workspace: Workspace | None = None  # set on Tenant routes (X-Tenant-Id or the key's default)

    @property
    def tenant(self) -> Workspace:
        if self.workspace is None:
            raise RuntimeError("a tenant route was registered with org scope")
        return self.workspace


Handler = Callable[[SandboxState, Call], Response]


def require(allowed: bool) -> None:
    if not allowed:
        raise forbidden()

"""A sandbox LangSmith server for tests and demos.

It implements, strictly, the API-key endpoints of LangSmith the rotator uses (see docs/langsmith-api.md),
with a settable clock, seedable state, fault injection, a per-key rate limit and a /_sandbox control API.
"""

from langsmith_sandbox.aio_server import AsyncioSandboxServer
from langsmith_sandbox.clock import SandboxClock
from langsmith_sandbox.faults import FaultRule
from langsmith_sandbox.model import IssuedKey, KeyRecord, Organization, Role, User, Workspace
from langsmith_sandbox.rate_limit import RateLimiter, RateLimitSettings
from langsmith_sandbox.seed import DEMO_SEED, RevealedKey, SeedError, SeedResult, load_seed, load_seed_file
from langsmith_sandbox.server import SandboxServer
from langsmith_sandbox.state import SandboxState

__all__ = [
    "DEMO_SEED",
    "AsyncioSandboxServer",
    "FaultRule",
    "IssuedKey",
    "KeyRecord",
    "Organization",
    "RateLimitSettings",
    "RateLimiter",
    "RevealedKey",
    "Role",
    "SandboxClock",
    "SandboxServer",
    "SandboxState",
    "SeedError",
    "SeedResult",
    "User",
    "Workspace",
    "load_seed",
    "load_seed_file",
]

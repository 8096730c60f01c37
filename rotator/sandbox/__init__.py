"""A sandbox LangSmith server for tests and demos.

It implements, strictly, the API-key endpoints of LangSmith the rotator uses (see docs/langsmith-api.md),
with a settable clock, seedable state, fault injection and a /_sandbox control API.
"""

from rotator.sandbox.clock import SandboxClock
from rotator.sandbox.faults import FaultRule
from rotator.sandbox.model import IssuedKey, KeyRecord, Organization, Role, User, Workspace
from rotator.sandbox.seed import DEMO_SEED, RevealedKey, SeedError, SeedResult, load_seed, load_seed_file
from rotator.sandbox.server import SandboxServer
from rotator.sandbox.state import SandboxState

__all__ = [
    "DEMO_SEED",
    "FaultRule",
    "IssuedKey",
    "KeyRecord",
    "Organization",
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

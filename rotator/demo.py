"""The embedded default: a sandbox LangSmith server seeded with a realistic org, and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rotator.sandbox import DEMO_SEED, SandboxServer, SandboxState, load_seed_file
from rotator.settings import Settings


@dataclass(frozen=True)
class Demo:
    settings: Settings
    environ: dict[str, str]
    """Where the settings' ``api_key.env`` references resolve: the seeded secrets, never printed."""
    endpoint: str


@contextmanager
def running_demo() -> Iterator[Demo]:
    """Org "Acme" watched through its org-admin service key, plus Alice's PATs through her own PAT."""
    state = SandboxState()
    revealed = load_seed_file(state, DEMO_SEED).revealed
    admin, alice = revealed["rotator"], revealed["alice-laptop"]
    with SandboxServer(state) as server:
        settings = Settings.model_validate(
            {
                "orgs": [
                    {
                        "name": "acme",
                        "endpoint": server.api_url,
                        "organization_id": admin.organization_id,
                        "api_key": {"env": "DEMO_ACME_ADMIN_KEY"},
                    },
                    {
                        "name": "acme-alice",
                        "endpoint": server.api_url,
                        "organization_id": alice.organization_id,
                        "api_key": {"env": "DEMO_ALICE_PAT"},
                        "watch": ["personal_access_tokens"],
                    },
                ]
            }
        )
        yield Demo(settings, {"DEMO_ACME_ADMIN_KEY": admin.secret, "DEMO_ALICE_PAT": alice.secret}, server.api_url)

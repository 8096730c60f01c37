"""What the rotation and daemon suites share: org "Acme" in the sandbox LangSmith server over loopback, the real
OpenBao dev server, and a world over both that seeds keys, builds configs, reads Vault and the journal, and checks
the invariants against their real state.

Each suite's world (tests/support/rotation_world.py, tests/support/daemon_world.py) subclasses ``SandboxVaultWorld``
with its own paths, config shape and environment variables.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, NamedTuple, Self

from langsmith_sandbox import IssuedKey, KeyRecord, SandboxServer, SandboxState
from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.ports import SecretVersion
from rotator.state import JournalStore
from rotator.vault.auth import TokenAuth
from rotator.vault.kv import KvStore
from rotator.vault.session import VaultSession
from rotator.vault.state_store import VaultStateStore
from tests.support import leak_scan
from tests.support.orgs import WorkspaceIds, seed_small_org

DAY = timedelta(days=1)
CREATE_PATH = "/api/v1/orgs/current/service-keys"


def open_session(stack: ExitStack, bao: OpenBaoDevServer) -> VaultSession:
    """A root-token session on ``bao``, closed with ``stack``."""
    return stack.enter_context(VaultSession(address=bao.address, auth=TokenAuth(bao.root_token)))


class EnvNames(NamedTuple):
    """The environment variables a world's config takes the admin key and the Vault token from."""

    admin_key: str
    vault_token: str


@dataclass
class SandboxVaultWorld(WorkspaceIds):
    """Org "Acme" in a sandbox served over loopback, and a prefix of its own (``prefix``) in OpenBao's ``secret/``."""

    state: SandboxState
    api_url: str
    org_id: str
    workspaces: dict[str, str]
    """Workspace ids by name."""
    admin: IssuedKey
    bao: OpenBaoDevServer
    prefix: str
    kv: KvStore
    """The ``secret/`` mount with the root token: what the tests use to look at Vault."""

    env: ClassVar[EnvNames]

    @classmethod
    def serve(
        cls,
        stack: ExitStack,
        state: SandboxState,
        *,
        workspaces: Sequence[str],
        bao: OpenBaoDevServer,
        prefix: str,
        kv: KvStore,
        max_service_key_expiry_days: int | None = None,
        max_api_key_expiry_days: int | None = None,
    ) -> Self:
        """Seed org "Acme" with ``workspaces`` and an org-wide admin key, and serve ``state`` until ``stack`` closes."""
        org = seed_small_org(
            state,
            workspaces=workspaces,
            max_service_key_expiry_days=max_service_key_expiry_days,
            max_api_key_expiry_days=max_api_key_expiry_days,
        )
        server = stack.enter_context(SandboxServer(state))
        world = cls(state, server.api_url, org.org_id, org.workspaces, org.admin, bao, prefix, kv)
        leak_scan.SCAN.note_state_prefix(world.state_prefix)
        return world

    # ── paths and state ─────────────────────────────────────────────────────────────────────────────────

    @property
    def state_prefix(self) -> str:
        return f"{self.prefix}/state"

    @property
    def lease_path(self) -> str:
        return f"{self.state_prefix}/leases/default"

    @property
    def journals(self) -> JournalStore:
        return JournalStore(VaultStateStore(self.kv, self.state_prefix))

    def now(self) -> datetime:
        return self.state.clock.now()

    def key_ids(self) -> set[str]:
        return {key.id for key in self.state.all_keys()}

    def stored_at(self, path: str) -> SecretVersion:
        stored = self.kv.read(path)
        assert stored is not None, f"nothing stored at {path}"
        return stored

    def lapse_lease(self) -> None:
        """What the lease's ttl does to a holder that died: it lapses (here at once, not after a minute)."""
        stored = self.kv.read(self.lease_path)
        assert stored is not None, "no lease was ever taken"
        lapsed = {**stored.data, "expires_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}
        self.kv.write(self.lease_path, lapsed, cas=stored.version)

    # ── seeding ─────────────────────────────────────────────────────────────────────────────────────────

    def add_key(
        self,
        description: str,
        *,
        age: timedelta,
        lifetime: timedelta | None,
        workspace_ids: Sequence[str] = (),
        role_id: str | None = None,
        org_role_id: str | None = None,
    ) -> IssuedKey:
        """A service key created ``age`` ago on the sandbox's clock, expiring ``lifetime`` after that (or never)."""
        created_at = self.now() - age
        return self.state.add_service_key(
            self.org_id,
            workspace_ids=workspace_ids,
            role_id=role_id,
            org_role_id=org_role_id,
            description=description,
            created_at=created_at,
            expires_at=None if lifetime is None else created_at + lifetime,
        )

    def store_key(self, path: str, key: IssuedKey) -> None:
        """Store ``key`` at ``path`` the way a team would have by hand."""
        self.kv.write(path, {"api_key": key.secret, "key_id": key.id}, cas=0)

    # ── configuration ───────────────────────────────────────────────────────────────────────────────────

    def connection_config(self, *, http: dict[str, Any], vault_address: str | None = None) -> dict[str, Any]:
        """The config's ``http``, ``orgs`` (Acme, its admin key from ``env.admin_key``) and ``vault`` sections."""
        return {
            "http": http,
            "orgs": [
                {
                    "name": "acme",
                    "endpoint": self.api_url,
                    "organization_id": self.org_id,
                    "api_key": {"env": self.env.admin_key},
                }
            ],
            "vault": {
                "address": vault_address or self.bao.address,
                "auth": {"method": "token", "token": {"env": self.env.vault_token}},
                "kv_mount": "secret",
                "state_prefix": self.state_prefix,
            },
        }

    def credentials(self, *, admin_secret: str | None = None, vault_token: str | None = None) -> dict[str, str]:
        """The environment variables the config names, set to the admin key and the root token by default."""
        return {
            self.env.admin_key: admin_secret or self.admin.secret,
            self.env.vault_token: vault_token or self.bao.root_token,
        }


# ── invariants, read from the sandbox's and Vault's real state ──────────────────────────────────────────


def assert_key_works(world: SandboxVaultWorld, stored: SecretVersion, secret: str) -> KeyRecord:
    """I1 for ``secret`` read from ``stored``: LangSmith issued it, it is neither deleted nor expired, and the
    version's ``key_id`` names it."""
    key = world.state.key_for_secret(secret)
    assert key is not None, "Vault holds a secret LangSmith never issued"
    assert key.deleted_at is None, f"Vault holds key {key.id}, which is deleted"
    assert not key.is_expired(world.now()), f"Vault holds key {key.id}, which has expired"
    assert stored.data.get("key_id") == key.id, "key_id in Vault does not name the stored key"
    return key


def assert_no_new_orphans(world: SandboxVaultWorld, before: set[str], in_vault: object) -> None:
    """I3: every key created since ``before`` is ``in_vault`` (the key id Vault holds), or deleted."""
    orphans = [
        key.id
        for key in world.state.all_keys()
        if key.id not in before and key.deleted_at is None and key.id != in_vault
    ]
    assert not orphans, f"orphaned keys: {orphans}"

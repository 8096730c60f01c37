"""A real OpenBao dev server for the rotation scenarios, with a file audit device so that every request Vault
answers is counted at the server, as the sandbox counts LangSmith's."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from bench.sandbox import process_cpu_seconds
from langsmith_sandbox.openbao import OpenBaoDevServer


class BenchVault:
    def __init__(self) -> None:
        self.server = OpenBaoDevServer(audit=True)

    def start(self) -> BenchVault:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> BenchVault:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def address(self) -> str:
        return self.server.address

    @property
    def token(self) -> str:
        return self.server.root_token

    def store(self, path: str, data: Mapping[str, Any]) -> None:
        """Write ``data`` at ``secret/<path>`` as a team would have stored a key by hand."""
        self.server.root_client().secrets.kv.v2.create_or_update_secret(
            path=path, secret=dict(data), mount_point="secret"
        )

    def read(self, path: str) -> dict[str, Any] | None:
        client = self.server.root_client()
        response = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=False
        )
        data = response.get("data", {}).get("data") if isinstance(response, dict) else None
        return data if isinstance(data, dict) else None

    def audit_offset(self) -> int:
        log = self.server.audit_log
        assert log is not None, "the dev server runs without its audit log"
        return log.stat().st_size if log.exists() else 0

    def requests_since(self, offset: int) -> Counter[str]:
        """Requests Vault answered since ``offset`` of its audit log, by operation and the path's first two parts
        (``update secret/data``, ``read sys/internal``)."""
        log = self.server.audit_log
        assert log is not None
        counts: Counter[str] = Counter()
        with log.open("rb") as audit:
            audit.seek(offset)
            for line in audit:
                entry = json.loads(line)
                if entry.get("type") != "request":
                    continue
                request = entry.get("request", {})
                path = "/".join(str(request.get("path", "")).split("/")[:2])
                counts[f"{request.get('operation', '?')} {path}"] += 1
        return counts

    def cpu_seconds(self) -> float:
        pid = self.server.pid
        return process_cpu_seconds(pid) if pid is not None else 0.0

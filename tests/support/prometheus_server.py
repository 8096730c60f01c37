"""A real Prometheus server (Debian's ``prometheus``) on a free loopback port, scraping given targets, as the
dashboard test starts it; and its HTTP API's instant query."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support import leak_scan
from tests.support.dependencies import skip_or_fail
from tests.support.network import free_port
from tests.support.served import served


@dataclass
class Prometheus:
    url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def api(self, path: str, **params: str) -> dict[str, Any]:
        """GET /api/v1/<path>; the whole JSON answer (``status``, ``data`` or ``error``), whatever the HTTP status."""
        answer = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        leak_scan.collect("prometheus", answer.text, path)
        body: dict[str, Any] = answer.json()
        return body

    def query(self, expr: str) -> dict[str, Any]:
        """An instant query at now."""
        return self.api("query", query=expr)

    def targets_up(self, job: str) -> bool:
        answer = self.query(f'up{{job="{job}"}} == 1')
        return answer.get("status") == "success" and bool(answer["data"]["result"])

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@contextmanager
def serve_prometheus(
    workdir: Path, *, job: str, targets: Sequence[str], scrape_interval: str = "1s"
) -> Iterator[Prometheus]:
    """Prometheus on 127.0.0.1 scraping ``targets`` (host:port) as ``job`` every ``scrape_interval``, with its TSDB
    under ``workdir``; terminated (then killed) on exit."""
    binary = shutil.which("prometheus")
    if binary is None:
        skip_or_fail("Prometheus is missing: apt-get install prometheus")
    assert binary is not None
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": [
            {"job_name": job, "scrape_timeout": scrape_interval, "static_configs": [{"targets": list(targets)}]}
        ],
    }
    config_path = workdir / "prometheus.yml"
    config_path.write_text(json.dumps(config))  # JSON is YAML
    address = f"127.0.0.1:{free_port()}"
    log_path = workdir / "prometheus.log"
    argv = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / 'prometheus-data'}",
        f"--web.listen-address={address}",
        "--storage.tsdb.retention.time=1h",
        "--log.level=warn",
    ]
    url = f"http://{address}"
    with served(argv, url=url, log_path=log_path, what="Prometheus") as process:
        yield Prometheus(url, log_path, process)

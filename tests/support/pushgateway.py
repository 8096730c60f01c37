"""A real Pushgateway (Debian's ``prometheus-pushgateway``), as the daemon tests start it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.dependencies import skip_or_fail
from tests.support.network import free_port
from tests.support.polling import wait_for


@contextmanager
def serve_pushgateway(workdir: Path, *flags: str, auth: tuple[str, str] | None = None) -> Iterator[str]:
    """A real Pushgateway (Debian's ``prometheus-pushgateway``) on a free loopback port; yields its URL.

    ``auth`` is what its ``--web.config.file`` (among ``flags``) asks for, so that readiness can be probed."""
    binary = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
    if binary is None:
        skip_or_fail("the Pushgateway is missing: apt-get install prometheus-pushgateway")
    assert binary is not None
    url = f"http://127.0.0.1:{free_port()}"
    log_path = workdir / "pushgateway.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, f"--web.listen-address={url.removeprefix('http://')}", *flags],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:

            def ready() -> bool:
                assert process.poll() is None, log_path.read_text()
                try:
                    return httpx.get(f"{url}/-/ready", auth=auth, timeout=2).status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(ready, timeout=15, what="the Pushgateway")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)

"""A real Pushgateway (Debian's ``prometheus-pushgateway``), as the daemon tests start it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.dependencies import skip_or_fail
from tests.support.network import free_port
from tests.support.served import served


@contextmanager
def serve_pushgateway(workdir: Path, *flags: str, auth: tuple[str, str] | None = None) -> Iterator[str]:
    """A real Pushgateway (Debian's ``prometheus-pushgateway``) on a free loopback port; yields its URL.

    ``auth`` is what its ``--web.config.file`` (among ``flags``) asks for, so that readiness can be probed."""
    binary = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
    if binary is None:
        skip_or_fail("the Pushgateway is missing: apt-get install prometheus-pushgateway")
    assert binary is not None
    url = f"http://127.0.0.1:{free_port()}"
    argv = [binary, f"--web.listen-address={url.removeprefix('http://')}", *flags]
    with served(argv, url=url, log_path=workdir / "pushgateway.log", what="the Pushgateway", auth=auth):
        yield url

"""One TLS context per CA bundle per process, however many threads ask for it at once."""

from __future__ import annotations

import ssl
import threading
import time
from pathlib import Path

import certifi
import pytest

from rotator import tls


def test_threads_asking_at_once_load_the_bundle_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "ca.pem"  # a path of its own, so no earlier test has cached it
    bundle.write_text(Path(certifi.where()).read_text())
    loads = []
    real = ssl.create_default_context

    def slow_load(*args: object, **kwargs: object) -> ssl.SSLContext:
        loads.append(1)
        time.sleep(0.05)  # loading a bundle takes ~20 ms: long enough for the other threads to miss a bare cache
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl, "create_default_context", slow_load)
    start = threading.Barrier(8)
    contexts: list[ssl.SSLContext] = []

    def ask() -> None:
        start.wait()
        contexts.append(tls.tls_context(str(bundle)))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1
    assert len({id(context) for context in contexts}) == 1

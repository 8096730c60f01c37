"""Fixtures for the alert sink tests: loopback receivers, a fake clock, and a real Alertmanager."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rotator.alerts import HttpOptions, RetryPolicy
from tests.support.alert_pipeline import Org, sandbox_org
from tests.support.alertmanager import NULL_ROUTE, find_alertmanager
from tests.support.clocks import FakeClock
from tests.support.dependencies import skip_or_fail
from tests.support.network import free_port
from tests.support.receivers import Receiver, Reply
from tests.support.served import served


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """A factory of started receivers, all stopped (and any hung request released) at teardown."""
    started: list[Receiver] = []

    def make(default: Reply | None = None) -> Receiver:
        receiver = Receiver(default).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


@pytest.fixture
def receiver(receivers: Callable[..., Receiver]) -> Receiver:
    return receivers()


@pytest.fixture
def fake_clock() -> FakeClock[float]:
    """A monotonic clock at 1000.0 s that only its ``sleep`` moves (the sinks sleep on it); records every sleep."""
    return FakeClock()


@pytest.fixture
def fake_clock_http(fake_clock: FakeClock[float]) -> HttpOptions:
    """HTTP options on the fake clock: a 30 s budget and three quick attempts."""
    return HttpOptions(
        timeout=30, retry=RetryPolicy(max_attempts=3, base_delay=0.01), sleep=fake_clock.sleep, clock=fake_clock
    )


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Alertmanager (Debian's package) with a null receiver; yields its base URL."""
    binary = find_alertmanager()
    if binary is None:
        skip_or_fail("Alertmanager is missing: apt-get install prometheus-alertmanager")
    assert binary is not None
    workdir: Path = tmp_path_factory.mktemp("alertmanager")
    (workdir / "alertmanager.yml").write_text(NULL_ROUTE)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={workdir / 'alertmanager.yml'}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with served(argv, url=url, log_path=workdir / "alertmanager.log", what="Alertmanager"):
        yield url


@pytest.fixture
def org() -> Iterator[Org]:
    """A sandbox org: an admin key, a managed key due now, and an unmanaged key 5 days from expiry."""
    with sandbox_org() as made:
        yield made

"""Fixtures for the Vault adapter tests; the OpenBao server itself comes from tests/openbao_fixture.py."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from rotator.sandbox.openbao import OpenBaoDevServer

LogList = list[MutableMapping[str, Any]]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def logs() -> Iterator[LogList]:
    """Every event logged, debug included, whatever level another test configured."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    try:
        with capture_logs() as captured:
            yield captured
    finally:
        structlog.configure(**saved)


def events(captured: LogList) -> list[str]:
    return [str(entry["event"]) for entry in captured]


def grant(openbao: OpenBaoDevServer, name: str, rules: dict[str, list[str]]) -> None:
    """Write policy ``name`` granting each path its capabilities."""
    hcl = "\n".join(f'path "{path}" {{ capabilities = {json.dumps(caps)} }}' for path, caps in rules.items())
    openbao.write_policy(name, hcl)

"""Fixtures for the Vault adapter tests; the OpenBao server itself comes from tests/support/openbao.py."""

from __future__ import annotations

import pytest

from tests.support.clocks import FakeClock


@pytest.fixture
def clock() -> FakeClock[float]:
    """A monotonic clock at 1000.0 s that the test moves by hand."""
    return FakeClock()

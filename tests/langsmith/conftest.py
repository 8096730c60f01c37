from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every event logged, debug included, whatever level another test configured."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    try:
        with capture_logs() as captured:
            yield captured
    finally:
        structlog.configure(**saved)

"""Crash points for tests: the process dies hard (no cleanup, no exception handlers) at a named step.

Set ``ROTATOR_FAILPOINT=<name>``; production never sets it. Crash tests use it to prove that recovery
keeps invariants I1-I3 whatever step a real crash interrupts.
"""

from __future__ import annotations

import os

CRASH_EXIT_CODE = 86


def failpoint(name: str) -> None:
    if os.environ.get("ROTATOR_FAILPOINT") == name:
        os._exit(CRASH_EXIT_CODE)

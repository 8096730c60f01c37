"""The exit codes of every command: the monitoring-plugin (Nagios) convention, and two of the rotator's own."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3
    UNDELIVERED = 4
    """`once` and `rotate`: the cycle ran, but an alert sink did not take every notification."""
    UNAVAILABLE = 5
    """Could not run: something it depends on is unavailable or refused (Vault down, the listen port taken)."""

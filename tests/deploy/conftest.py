"""Fixtures for the deploy tests that run the daemon: the daemon worlds and `rotator run` processes of
tests/support/daemon_fixtures.py."""

from tests.support.daemon_fixtures import make_world, start_daemon, world

__all__ = ["make_world", "start_daemon", "world"]

"""Loopback ports: ``free_port()`` names one nothing listens on (bound, then released), for a server a test starts
or an address that must refuse connections. It is the sandbox's own helper, so that there is one."""

from __future__ import annotations

from langsmith_sandbox.openbao import free_port

__all__ = ["free_port"]

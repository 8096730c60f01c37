"""TLS contexts for the HTTP adapters, built once per CA bundle per process."""

from __future__ import annotations

import functools
import ssl

import httpx


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A context trusting ``ca_file`` (a PEM bundle), or by default what httpx trusts
    (``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else certifi's bundle).

    Building one loads the CA bundle (~20 ms), so each is built once and shared by every client and poll.
    """
    return _context(ca_file)


@functools.cache
def _context(ca_file: str | None) -> ssl.SSLContext:
    if ca_file is None:
        return httpx.create_ssl_context()
    return ssl.create_default_context(cafile=ca_file)

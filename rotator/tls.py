"""TLS contexts for the HTTP adapters, built once per CA bundle per process."""

from __future__ import annotations

import ssl
import threading

import httpx

_contexts: dict[str | None, ssl.SSLContext] = {}
_building = threading.Lock()


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A context trusting ``ca_file`` (a PEM bundle), or by default what httpx trusts
    (``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else certifi's bundle).

    Building one loads the CA bundle (~20 ms, under the GIL), so each is built once and shared by every client
    and poll; the lock makes threads that ask at once wait for the first instead of each loading it.
    """
    context = _contexts.get(ca_file)
    if context is not None:
        return context
    with _building:
        if ca_file not in _contexts:
            _contexts[ca_file] = (
                httpx.create_ssl_context() if ca_file is None else ssl.create_default_context(cafile=ca_file)
            )
        return _contexts[ca_file]

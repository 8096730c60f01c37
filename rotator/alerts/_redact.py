"""Keep a sink's secrets out of messages: masked URLs for display, and a scrubber for any other text."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

from rotator.observability import MASK, redact_text

_MIN_DERIVED = 8
"""Parts of a URL shorter than this (``services``, ``api``) are not secrets worth scrubbing on their own."""


def display_url(url: str, *, secret_path: bool) -> str:
    """``url`` fit for logs: no credentials, no query string, and ``/***`` for a path that is itself a secret."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    path = parts.path
    if secret_path and path not in ("", "/"):
        path = f"/{MASK}"
    query = f"?{MASK}" if parts.query else ""
    return f"{parts.scheme}://{netloc}{path}{query}"


def url_secrets(url: str, *, secret_path: bool) -> list[str]:
    """The parts of ``url`` that must never be shown: credentials, query values, and the path if it is secret."""
    parts = urlsplit(url)
    secrets = [parts.password or "", parts.query]
    secrets += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    if secret_path and parts.path not in ("", "/"):
        secrets += [url, parts.path, *parts.path.split("/")]
    return [secret for secret in secrets if len(secret) >= _MIN_DERIVED]


class Scrubber:
    """Replaces each known secret, longest first, then masks anything secret-shaped (``redact_text``)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return redact_text(text)

    def __repr__(self) -> str:
        return f"Scrubber({len(self._secrets)} secrets)"

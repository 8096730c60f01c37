"""Where the LangSmith API lives: the default host, and endpoint spellings reduced to one base URL."""

from __future__ import annotations

DEFAULT_ENDPOINT = "https://api.smith.langchain.com"

# Self-hosted docs say LANGSMITH_ENDPOINT=http://<host>/api/v1; the SDK strips these before joining paths.
_API_SUFFIXES = ("/api/v1", "/api")


def normalize_endpoint(url: str) -> str:
    """The base URL (``scheme://host[:port][/prefix]``) that ``/api/v1/...`` paths are joined to.

    ``https://api.smith.langchain.com/``, ``.../api`` and ``.../api/v1`` all give ``https://api.smith.langchain.com``.
    """
    base = url.strip().rstrip("/")
    for suffix in _API_SUFFIXES:
        if base.endswith(suffix):
            return base.removesuffix(suffix).rstrip("/")
    return base

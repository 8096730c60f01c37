"""Structured logging (structlog) with a redaction processor that masks secrets wherever they appear.

Logs go to stderr so that stdout stays clean for command output such as ``rotator check --output json``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog

LogFormat = Literal["auto", "json", "console"]
MASK = "***"

_SECRET_VALUES = [
    # LangSmith keys (lsv2_sk_…, lsv2_pt_…) and the dead legacy ls__ keys: keep the kind, drop the rest.
    # Real keys carry 32+ characters; a short_key display prefix (a few characters) is not a secret.
    (re.compile(r"\b(lsv2_(?:pt|sk)_)[A-Za-z0-9]{16,}(?:_[A-Za-z0-9]+)*"), rf"\g<1>{MASK}"),
    (re.compile(r"\bls__[A-Za-z0-9]{8,}"), f"ls__{MASK}"),
    # Vault / OpenBao tokens: service, batch and recovery tokens, new (hvs.) and old (s.) style.
    (re.compile(r"\b(hv[sbr]\.|[sbr]\.)[A-Za-z0-9_-]{20,}"), rf"\g<1>{MASK}"),
    # Webhook URLs whose path is the secret (Slack) and credentials in any URL.
    (re.compile(r"(https://hooks\.slack\.com/)[^\s\"']+"), rf"\g<1>{MASK}"),
    (re.compile(r"(https?://)[^/\s:@\"']+:[^/\s@\"']+@"), rf"\g<1>{MASK}@"),
]
# A field is secret when its name ends in one of these words: `api_key`, `vault_token`, `secret_id`.
# Names that merely contain them are ids and labels, not secrets: `key_id`, `new_key_id`, `short_key`.
_SECRET_FIELD = re.compile(
    r"(^|[_-])(secret|secrets|token|password|passwd|api[_-]?key|authorization|routing_key|private_key"
    r"|webhook_url|secret_id|jwt|key)$",
    re.IGNORECASE,
)
_NOT_SECRET_FIELDS = {"short_key", "dedup_key"}


def redact_text(text: str) -> str:
    """Mask every secret-looking value in ``text``."""
    for pattern, replacement in _SECRET_VALUES:
        text = pattern.sub(replacement, text)
    return text


def safe_text(text: str, *, limit: int = 300, one_line: bool = False) -> str:
    """``text`` fit for a message: secrets masked, cut to ``limit`` characters (with "…"); with ``one_line``,
    runs of white space (newlines too) folded into one space first."""
    if one_line:
        text = " ".join(text.split())
    text = redact_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_secret_field(name: str) -> bool:
    return name.lower() not in _NOT_SECRET_FIELDS and bool(_SECRET_FIELD.search(name))


def _redact(value: Any, field: str | None = None) -> Any:
    if field is not None and is_secret_field(field) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    return value


def redact_event(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: runs last before rendering, after tracebacks became data."""
    return {key: _redact(value, key if key != "event" else None) for key, value in event_dict.items()}


def configure_logging(fmt: LogFormat = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks if use_json else structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )

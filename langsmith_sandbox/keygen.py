"""Key secrets in LangSmith's shape (``lsv2_sk_<32 hex>_<10 hex>``), their display prefix and fingerprint."""

from __future__ import annotations

import hashlib
import re
import secrets

from langsmith_sandbox.model import KeyKind

_PREFIX: dict[KeyKind, str] = {"service_key": "lsv2_sk_", "personal_access_token": "lsv2_pt_"}
_SHAPE = re.compile(r"lsv2_(sk|pt)_[0-9a-f]{32}_[0-9a-f]{10}")
SHORT_KEY_SECRET_CHARS = 4


def new_secret(kind: KeyKind) -> str:
    return f"{_PREFIX[kind]}{secrets.token_hex(16)}_{secrets.token_hex(5)}"


def check_secret(kind: KeyKind, secret: str) -> None:
    if not _SHAPE.fullmatch(secret) or not secret.startswith(_PREFIX[kind]):
        raise ValueError(f"a {kind} secret must look like {_PREFIX[kind]}<32 hex>_<10 hex>")


def short_key(secret: str) -> str:
    """The prefix plus four secret characters, e.g. ``lsv2_sk_ab12...``: enough to tell keys apart by eye."""
    visible = len("lsv2_sk_") + SHORT_KEY_SECRET_CHARS
    return f"{secret[:visible]}..."


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()

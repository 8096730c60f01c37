"""Which listed key is the rotator's own admin key. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from rotator.domain.check import CheckReport
from rotator.domain.keys import ApiKey, is_secret_of


def admin_key_ids(report: CheckReport, secrets: Mapping[str, str]) -> dict[str, str]:
    """Per org, the id of the listed key its admin secret belongs to; none when that does not single one out."""
    found: dict[str, str] = {}
    for org, secret in secrets.items():
        matches = [row.key.id for row in report.rows if row.org == org and is_secret_of(secret, row.key)]
        if len(matches) == 1:
            found[org] = matches[0]
    return found


def is_admin_key(key: ApiKey, admin_secret: str, stored: str | None) -> bool:
    """Whether ``key`` is the admin key: the secret Vault holds for it decides when there is one; else the short
    key, which several keys may share, so that guess errs towards yes."""
    return stored == admin_secret if stored is not None else is_secret_of(admin_secret, key)

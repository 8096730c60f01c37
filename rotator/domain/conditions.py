"""Which alert conditions hold after a cycle, in words a person understands at 3 a.m. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from rotator.domain.alerts import Alert, AlertKind, Severity
from rotator.domain.check import CheckReport, KeyRow
from rotator.domain.keys import KeyKind
from rotator.domain.outcome import Outcome, Result
from rotator.domain.policy import ExpiryStatus

_SEVERITY = {
    ExpiryStatus.EXPIRED: Severity.CRITICAL,
    ExpiryStatus.CRITICAL: Severity.CRITICAL,
    ExpiryStatus.WARNING: Severity.WARNING,
    ExpiryStatus.TOO_OLD: Severity.WARNING,
}
_KIND_WORDS = {KeyKind.SERVICE_KEY: "service key", KeyKind.PERSONAL_ACCESS_TOKEN: "personal access token"}


def conditions_after_cycle(
    report: CheckReport,
    outcomes: Sequence[tuple[str, Outcome]],
    *,
    admin_key_ids: Mapping[str, str],
    admin_key_sources: Mapping[str, str],
) -> list[Alert]:
    """``outcomes`` pairs each managed secret's org with what the cycle did for it. ``admin_key_ids``: per org,
    the id of the key the rotator itself uses, when it could tell; ``admin_key_sources``: per org, where that
    key comes from, for the message (``env LANGSMITH_API_KEY``). A key is managed if its row says so (the
    journal, or ``managed[].adopt``) or this cycle's run for a secret named it; retiring keys raise nothing."""
    managed = {(org, o.key_id): o.name for org, o in outcomes if o.key_id}
    retiring = {(org, key_id) for org, o in outcomes for key_id in o.retiring_key_ids}
    alerts = [
        _key_alert(
            row, managed.get((row.org, row.key.id)) or row.managed, admin_key_ids, admin_key_sources, report.checked_at
        )
        for row in report.rows
        if row.assessment.status in _SEVERITY and (row.org, row.key.id) not in retiring
    ]
    alerts += [_unpollable(inventory.org, inventory.error or "unknown error") for inventory in report.failed_orgs]
    for org, outcome in outcomes:
        if outcome.result is Result.FAILED:
            alerts.append(_rotation_failed(org, outcome))
        if outcome.held_key_id is not None:
            alerts.append(_old_key_in_use(org, outcome))
        if outcome.promoted:
            alerts.append(_rotation_succeeded(org, outcome))
    return alerts


def _key_alert(
    row: KeyRow,
    managed: str | None,
    admin_key_ids: Mapping[str, str],
    admin_key_sources: Mapping[str, str],
    now: datetime,
) -> Alert:
    key, status = row.key, row.assessment.status
    is_admin = admin_key_ids.get(row.org) == key.id
    what = "the rotator's own admin key" if is_admin else f"LangSmith {_KIND_WORDS[key.kind]}"
    summary = f"{what} {key.description!r} ({key.short_key}) in org {row.org} {_when(row)}"
    if is_admin:
        action = (
            "When it expires the rotator can no longer list, create or delete keys. Create a new Organization Admin "
            f"service key in LangSmith and put it where the rotator reads it ({admin_key_sources.get(row.org, '?')})."
        )
    elif managed is not None:
        action = (
            f"The rotator manages this key as {managed!r} and replaces it before it expires. If it has not, look for "
            f"a 'rotation failed' alert for {managed!r}, fix its cause, then run `rotator rotate {managed}`."
        )
    elif key.kind is KeyKind.PERSONAL_ACCESS_TOKEN:
        action = "Personal access tokens belong to people: ask its owner to create a new token and switch to it."
    else:
        action = (
            "Nothing rotates this key. Create a key with the same scope and role in LangSmith, switch its consumers, "
            "then delete this one; or declare it under `managed:` so the rotator does it."
        )
    details = {
        "org": row.org,
        "description": key.description,
        "short_key": key.short_key,
        "kind": key.kind.value,
        "scope": key.access_scope.value if key.access_scope else "unknown",
        "workspaces": ", ".join(key.workspace_names) or "-",
        "role": row.role or "-",
        "expires_at": key.expires_at.isoformat() if key.expires_at else "never",
        "status": status.value,
        "managed": managed or "-",
        "checked_at": now.isoformat(),
    }
    return Alert(
        id=f"{'admin-key' if is_admin else 'key'}-{status_group(status)}:{row.org}:{key.id}",
        kind=AlertKind.ADMIN_KEY_EXPIRY if is_admin else AlertKind.KEY_EXPIRY,
        severity=_SEVERITY[status],
        summary=summary,
        action=action,
        details=details,
        org=row.org,
        key_kind=key.kind.value,
        managed=managed,
        key_id=key.id,
    )


def status_group(status: ExpiryStatus) -> str:
    """Expiry (warning → critical → expired) is one condition that changes severity; too old is another."""
    return "too-old" if status is ExpiryStatus.TOO_OLD else "expiry"


def _when(row: KeyRow) -> str:
    days, age = row.assessment.days_left, row.assessment.age_days
    if row.assessment.status is ExpiryStatus.TOO_OLD:
        return f"never expires and is {age:.0f} days old" if age is not None else "never expires"
    if days is None:
        return "never expires"
    if days <= 0:
        return f"expired {-days:.1f} days ago"
    expires = row.key.expires_at
    return f"expires in {days:.1f} days" + (f" ({expires:%Y-%m-%d %H:%M} UTC)" if expires else "")


def _unpollable(org: str, error: str) -> Alert:
    return Alert(
        id=f"org-unpollable:{org}",
        kind=AlertKind.ORG_UNPOLLABLE,
        severity=Severity.CRITICAL,
        summary=f"org {org} could not be polled: its keys are not being watched",
        action=(
            f"Cause: {error}. A 401 means the rotator's admin key for {org} is wrong, expired or deleted: create a new "
            "one and update the rotator's config. Otherwise check the endpoint and the network."
        ),
        details={"org": org, "error": error},
        org=org,
    )


def _rotation_failed(org: str, outcome: Outcome) -> Alert:
    return _secret_alert(
        org,
        outcome,
        f"rotation-failed:{outcome.name}",
        AlertKind.ROTATION_FAILED,
        Severity.WARNING,  # the key's own expiry alert turns critical if the failures go on
        summary=f"rotation of managed secret {outcome.name!r} (org {org}) failed",
        action=(
            f"{outcome.message}. The key in Vault is unchanged and still valid until it expires. Fix the cause "
            f"(see the rotator's 'rotation.failed' log lines), then run `rotator rotate {outcome.name}`."
        ),
        error=outcome.message,
    )


def _old_key_in_use(org: str, outcome: Outcome) -> Alert:
    return _secret_alert(
        org,
        outcome,
        f"old-key-in-use:{outcome.name}",
        AlertKind.OLD_KEY_IN_USE,
        Severity.WARNING,
        summary=f"the replaced key of {outcome.name!r} (org {org}) is still in use after its grace period",
        action=(
            f"{outcome.message}. Some consumer still reads the old key instead of Vault: restart or reconfigure it. "
            "The old key is deleted anyway when max_grace runs out, unless it was adopted without being in Vault: "
            "then only its consumers hold it, and it is kept until LangSmith shows it unused."
        ),
        old_key_id=outcome.held_key_id or "-",
        key_id=outcome.held_key_id,
    )


def _rotation_succeeded(org: str, outcome: Outcome) -> Alert:
    return _secret_alert(
        org,
        outcome,
        f"rotation-succeeded:{outcome.name}:{outcome.key_id}",
        AlertKind.ROTATION_SUCCEEDED,
        Severity.INFO,
        summary=f"managed secret {outcome.name!r} (org {org}) rotated: a new key is in Vault",
        action=outcome.message,
        key_id=outcome.key_id,
    )


def _secret_alert(
    org: str,
    outcome: Outcome,
    alert_id: str,
    kind: AlertKind,
    severity: Severity,
    *,
    summary: str,
    action: str,
    key_id: str | None = None,
    **details: str,
) -> Alert:
    """An alert about one managed secret: always a service key, labelled with its managed name."""
    facts = {"managed": outcome.name, "org": org, **details, **({"key_id": key_id} if key_id else {})}
    return Alert(
        id=alert_id,
        kind=kind,
        severity=severity,
        summary=summary,
        action=action,
        details=facts,
        org=org,
        key_kind=KeyKind.SERVICE_KEY.value,
        managed=outcome.name,
        key_id=key_id,
    )


def resolution_reason(report: CheckReport, outcomes: Sequence[tuple[str, Outcome]]) -> Callable[[Alert], str]:
    """Why a condition that held before no longer does, from this cycle's report and outcomes."""
    listed = {(row.org, row.key.id): row for row in report.rows}
    retiring = {(org, key_id): o.name for org, o in outcomes for key_id in o.retiring_key_ids}
    by_secret = {o.name: o for _, o in outcomes}

    def reason(alert: Alert) -> str:
        if alert.kind is AlertKind.ORG_UNPOLLABLE:
            return f"org {alert.org} was polled successfully again"
        if alert.kind is AlertKind.ROTATION_FAILED:
            outcome = by_secret.get(alert.managed or "")
            return f"the rotation no longer fails (now {outcome.result.value})" if outcome else "no longer managed"
        if alert.kind is AlertKind.OLD_KEY_IN_USE:
            return "the old key is no longer held: deleted, or no longer in use"
        where = (alert.org or "", alert.key_id or "")
        if where in retiring:
            return f"rotated: {retiring[where]!r} has a new key in Vault; this one is deleted after its grace period"
        row = listed.get(where)
        if row is None:
            return "deleted: LangSmith no longer lists the key"
        expires = row.key.expires_at
        if expires is not None and expires.isoformat() != alert.details.get("expires_at"):
            return f"renewed: the key now expires {expires:%Y-%m-%d %H:%M} UTC"
        return f"now {row.assessment.status.value} under the current policy"

    return reason

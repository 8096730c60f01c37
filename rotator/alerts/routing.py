"""Which alerts a sink sees: a minimum severity, and the orgs, key kinds, managed-ness and conditions it is
limited to. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from rotator.domain.alerts import Alert, AlertKind, Severity


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """``None`` lets everything through on that dimension. A set filter drops alerts that lack the attribute:
    a sink limited to ``kinds: [personal_access_token]`` does not get "org could not be polled"."""

    min_severity: Severity = Severity.WARNING
    orgs: frozenset[str] | None = None
    key_kinds: frozenset[str] | None = None
    managed: bool | None = None
    conditions: frozenset[AlertKind] | None = None

    def accepts(self, alert: Alert) -> bool:
        """For a resolve pass the alert as it was last sent, so it is judged by the severity that was sent."""
        if alert.severity.rank < self.min_severity.rank:
            return False
        if self.orgs is not None and alert.org not in self.orgs:
            return False
        if self.key_kinds is not None and alert.key_kind not in self.key_kinds:
            return False
        if self.conditions is not None and alert.kind not in self.conditions:
            return False
        return self.managed is None or self.managed == (alert.managed is not None)


ACCEPT_ALL = AlertFilter(min_severity=Severity.INFO)

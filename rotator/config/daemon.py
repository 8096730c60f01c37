"""`rotator run`: its schedule, the address it serves metrics and probes on, and when it may rotate."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from rotator.config.errors import ConfigProblem, invalid
from rotator.config.fields import Duration, StrictModel
from rotator.domain.window import RotationWindow

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RotationWindowSettings(StrictModel):
    """When keys may be created and deleted (UTC); monitoring runs at any time."""

    days: list[Weekday] = list(_WEEKDAYS)
    start: str = Field(default="00:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(default="24:00", pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start >= self.end:
            raise invalid(
                RotationWindowSettings,
                ConfigProblem(("end",), "must be later than start (windows do not cross midnight; use two days)"),
            )
        if not self.days:
            raise invalid(RotationWindowSettings, ConfigProblem(("days",), "list at least one day"))
        return self

    def to_window(self) -> RotationWindow:
        return RotationWindow(
            frozenset(_WEEKDAYS.index(day) for day in self.days), _minutes(self.start), _minutes(self.end)
        )


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


_LISTEN = re.compile(r"(?P<host>[^:\s]*):(?P<port>\d+)")
_MAX_PORT = 65535

ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - probes and Prometheus reach a pod on its IP, see DEFAULT_LISTEN  # nosec B104
DEFAULT_LISTEN = f"{ALL_INTERFACES}:9464"
"""``daemon.listen``'s default, every interface on purpose: in a Kubernetes pod the kubelet's probes (/healthz,
/readyz) and Prometheus (/metrics) reach the daemon on the pod IP, not on loopback. The server answers only those
three read-only GETs, with no secret or key id in them; ``daemon.listen: 127.0.0.1:9464`` keeps it on loopback."""


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``daemon.listen``, ``--listen``) as an address to bind; an empty host is every interface."""
    match = _LISTEN.fullmatch(text)
    if match is None:
        raise ValueError("use HOST:PORT, e.g. 0.0.0.0:9464")
    port = match["port"]
    if len(port) > len(str(_MAX_PORT)) or int(port) > _MAX_PORT:
        raise ValueError(f"port {port} is out of range (at most {_MAX_PORT})")
    return match["host"] or ALL_INTERFACES, int(port)


class DaemonSettings(StrictModel):
    """`rotator run`: the schedule, the HTTP address for metrics and probes, and how long shutdown may take."""

    jitter: Duration = timedelta(seconds=30)
    """Each run starts up to this much later, so replicas and restarts do not hit LangSmith in step."""
    cron: str | None = None
    """A crontab line (UTC), e.g. ``*/15 * * * *``; replaces poll_interval when set."""
    listen: str = Field(default=DEFAULT_LISTEN, pattern=r"^[^:\s]*:\d{1,5}$")
    shutdown_timeout: Duration = timedelta(seconds=30)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as error:
                raise ValueError(f"{value!r} is not a crontab line (minute hour day month weekday): {error}") from None
        return value

    @field_validator("listen")
    @classmethod
    def _bindable(cls, value: str) -> str:
        parse_listen(value)
        return value

    @property
    def listen_address(self) -> tuple[str, int]:
        return parse_listen(self.listen)

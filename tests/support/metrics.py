"""Prometheus metrics as the tests read them: the samples of a text exposition, and their values by name and labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from tests.support import leak_scan


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse_metrics(text: str) -> list[Sample]:
    """The samples of ``text`` (which the leak scan reads: every exposition a test parses)."""
    leak_scan.collect("metrics", text)
    return [
        Sample(sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def values(samples: Sequence[Sample], name: str, **labels: str) -> list[float]:
    """Values of the samples named ``name`` whose labels include ``labels``."""
    return [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]


def value(samples: Sequence[Sample], name: str, **labels: str) -> float:
    found = values(samples, name, **labels)
    assert len(found) == 1, f"expected one {name}{labels}, found {found}"
    return found[0]

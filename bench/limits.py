"""The physical limits the measurements are compared with, computed from counts alone (no clocks here).

A limit is the least time any client could take for the same work against the same server:

- the **chain bound**: the longest chain of requests that each need the answer of the one before, times the
  latency every request pays. Requests that do not depend on each other can all be in flight at once, so they
  add nothing to it.
- the **rate bound**: the requests made with the busiest API key, divided by the server's per-key rate (a
  client pacing itself at the server's rate cannot do better), once they are more than one window admits: a
  sliding window lets a first burst of one window's worth through at once (:func:`window_bound` is the exact
  floor, which a client that bursts can approach).

The limit is the larger of the two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

INVENTORY_CHAIN = 1
"""One inventory: every org's key listings and roles are independent of each other, so with all of them in flight
at once the chain is one request deep (ids are configured, so nothing is discovered first)."""

ROTATION_CHAIN = 3
"""One key's rotation after the inventory that found it due: create the new key, then verify it (it authenticates;
the listing shows it: two requests, independent of each other), then delete the old key. The saga's own
listing, the org info and the workspace listing it plans with need nothing from each other nor from the create,
so they can share the inventory's round trip; the Vault writes between verify and delete are on loopback."""

CYCLE_WITH_ROTATIONS_CHAIN = INVENTORY_CHAIN + ROTATION_CHAIN
"""`rotator once` with keys due: the inventory, then every key's rotation side by side."""


@dataclass(frozen=True)
class RateLimit:
    """The sandbox's per-key limit: ``limit`` requests in any ``window_seconds``."""

    requests_per_minute: int
    window_seconds: float = 60.0

    @property
    def limit(self) -> int:
        return math.floor(self.requests_per_minute * self.window_seconds / 60.0 + 1e-9)

    @property
    def per_second(self) -> float:
        return self.requests_per_minute / 60.0


def chain_bound(chain: int, latency: float) -> float:
    return chain * latency


def rate_bound(requests_by_key: Mapping[str, int], rate: RateLimit | None) -> float:
    """Seconds the busiest key needs at the server's steady rate; 0 without a rate limit, and 0 when its requests
    fit in one window, which lets them all through at once (the limit does not bind)."""
    if rate is None or not requests_by_key:
        return 0.0
    busiest = max(requests_by_key.values())
    return busiest / rate.per_second if busiest > rate.limit else 0.0


def window_bound(requests_by_key: Mapping[str, int], rate: RateLimit | None, latency: float) -> float:
    """The exact floor under a sliding window: the n-th request of a key may leave no sooner than one window after
    the (n - limit)-th, so the last of ``n`` leaves ``floor((n - 1) / limit)`` windows in, and is answered one
    latency later."""
    if rate is None or not requests_by_key:
        return 0.0
    busiest = max(requests_by_key.values())
    return (busiest - 1) // rate.limit * rate.window_seconds + latency


def physical_limit(chain: int, latency: float, requests_by_key: Mapping[str, int], rate: RateLimit | None) -> float:
    return max(chain_bound(chain, latency), rate_bound(requests_by_key, rate))


def ratio(measured: float | None, reference: float | None) -> float | None:
    if measured is None or reference is None or reference <= 0:
        return None
    return measured / reference


def client_budget(rate: RateLimit, share: float = 0.95) -> int:
    """The ``http.requests_per_minute`` to give the rotator under ``rate``: at most ``share`` of it, and low
    enough that its pacing (one request every 60 / r seconds, plus a burst of r // 60 after a quiet spell, the
    rotator's generic cell rate) never sends more than the server's limit in any one window."""
    budget = math.floor(rate.requests_per_minute * share)
    while budget > 1:
        burst = max(1, budget // 60)
        if budget * rate.window_seconds / 60.0 + burst <= rate.limit:
            break
        budget -= 1
    return max(1, budget)


@dataclass(frozen=True)
class Target:
    """What the product must reach: ``measured <= factor * reference`` (``at_least``: ``>=``)."""

    text: str
    factor: float
    at_least: bool = False

    def met(self, value: float | None) -> bool | None:
        """``value`` is measured / reference (or reference / measured for an ``at_least`` target)."""
        if value is None:
            return None
        return value >= self.factor if self.at_least else value <= self.factor

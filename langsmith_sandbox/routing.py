"""A tiny router: path templates like ``/api/v1/api-key/{api_key_id}`` to handlers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from langsmith_sandbox.messages import ApiError

H = TypeVar("H")


@dataclass(frozen=True)
class Route(Generic[H]):
    method: str
    template: str
    handler: H

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(frozen=True)
class Match(Generic[H]):
    route: Route[H]
    params: dict[str, str]


class Router(Generic[H]):
    def __init__(self) -> None:
        self._routes: list[tuple[Route[H], re.Pattern[str]]] = []

    def add(self, method: str, template: str, handler: H) -> None:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self._routes.append((Route(method, template, handler), re.compile(pattern)))

    def match(self, method: str, path: str) -> Match[H]:
        """The route for this request; ApiError 404 for an unknown path, 405 for a wrong method."""
        path_known = False
        for route, pattern in self._routes:
            found = pattern.fullmatch(path)
            if found is None:
                continue
            if route.method == method:
                return Match(route, found.groupdict())
            path_known = True
        if path_known:
            raise ApiError(405, {"detail": "Method Not Allowed"})
        raise ApiError(404, {"detail": "Not Found"})

    def route_name(self, method: str, path: str) -> str:
        """The route's name for counters; unmatched paths share one bucket so counters stay bounded."""
        try:
            return self.match(method, path).route.name
        except ApiError:
            return "unmatched"

"""An HTTP API's route table as the deployer read it from the template, and route selection as
API Gateway does it for HTTP APIs.

A route key is `METHOD /path` (`ANY` matches every method) or `$default`. A path segment is a
literal, a `{name}` variable (one segment) or, last, a greedy `{name+}` (the rest of the path).
When several routes match, the most specific wins: literal segments before variables before a
greedy variable, a named method before `ANY`, and `$default` only when nothing else matches.

A stage's throttling applies to each of its routes: `DefaultRouteSettings`, unless its
`RouteSettings` name the route. A limit not given is the account's (10,000 requests a second,
a burst of 5,000).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

DEFAULT_ROUTE = "$default"
DEFAULT_STAGE = "$default"
_LITERAL, _VARIABLE, _GREEDY = 0, 1, 2
ACCOUNT_RATE_PER_SECOND = 10_000.0  # API Gateway's quota per account and Region
ACCOUNT_BURST = 5_000


@dataclass(frozen=True)
class Throttle:
    """A token bucket: `burst` requests at once, refilled at `rate` a second (0 refuses all)."""

    rate: float
    burst: int

    @classmethod
    def from_route_settings(cls, settings: Mapping[str, Any] | None) -> Throttle | None:
        """From a template's RouteSettings; None when it sets no throttling."""
        settings = settings or {}
        rate = settings.get("ThrottlingRateLimit")
        burst = settings.get("ThrottlingBurstLimit")
        if rate is None and burst is None:
            return None
        return cls(
            float(ACCOUNT_RATE_PER_SECOND if rate is None else rate),
            int(ACCOUNT_BURST if burst is None else burst),
        )


@dataclass(frozen=True)
class StageThrottling:
    default: Throttle | None = None
    routes: dict[str, Throttle] = field(default_factory=dict)  # by route key

    def for_route(self, route_key: str) -> Throttle | None:
        return self.routes.get(route_key, self.default)


@dataclass(frozen=True)
class ApiRoute:
    """One route: its key and the Lambda function its AWS_PROXY integration invokes."""

    route_key: str
    function_name: str
    payload_format_version: str = "2.0"

    @property
    def method(self) -> str:
        return "ANY" if self.route_key == DEFAULT_ROUTE else self.route_key.split(" ", 1)[0]

    @property
    def path(self) -> str | None:
        return None if self.route_key == DEFAULT_ROUTE else self.route_key.split(" ", 1)[1]

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        """Path parameters if this route serves `method` on the decoded path `segments`."""
        if self.method not in ("ANY", method.upper()):
            return None
        if self.path is None:
            return {}
        parameters: dict[str, str] = {}
        pattern = _segments(self.path)
        for index, part in enumerate(pattern):
            kind, name = _kind(part)
            if kind == _GREEDY:
                rest = segments[index:]
                if not rest or rest == [""]:
                    return None  # {proxy+} needs at least one segment
                parameters[name] = "/".join(rest)
                return parameters
            if index >= len(segments):
                return None
            if kind == _VARIABLE:
                if segments[index] == "":
                    return None
                parameters[name] = segments[index]
            elif part != segments[index]:
                return None
        return parameters if len(segments) == len(pattern) else None

    def specificity(self) -> tuple[int, ...]:
        """Sorts ascending from the most specific route to the least."""
        if self.path is None:
            return (_GREEDY + 1,)
        kinds = tuple(_kind(part)[0] for part in _segments(self.path))
        return (*kinds, _GREEDY + 1 if self.method == "ANY" else 0)


@dataclass
class HttpApi:
    """What the local gateway serves for one `AWS::ApiGatewayV2::Api`."""

    api_id: str
    name: str
    routes: list[ApiRoute] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    throttling: dict[str, StageThrottling] = field(default_factory=dict)  # by stage

    def add_stage(
        self,
        name: str,
        default_route_settings: Mapping[str, Any] | None = None,
        route_settings: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """A stage, with the throttling of its template properties of the same names."""
        self.stages.append(name)
        routes = {
            key: throttle
            for key, settings in (route_settings or {}).items()
            if (throttle := Throttle.from_route_settings(settings)) is not None
        }
        self.throttling[name] = StageThrottling(
            Throttle.from_route_settings(default_route_settings), routes
        )

    def throttle(self, stage: str, route_key: str) -> Throttle | None:
        """The limits of `route_key` on `stage`; None: only the account's."""
        # getattr: a `make up` snapshot saved before stages kept their throttling has none
        throttling = getattr(self, "throttling", {}).get(stage)
        return throttling.for_route(route_key) if throttling else None

    def select(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        """The route API Gateway would pick for a request, and its path parameters."""
        segments = _segments(path)
        candidates = []
        for route in self.routes:
            parameters = route.match(method, segments)
            if parameters is not None:
                candidates.append((route.specificity(), route.route_key, route, parameters))
        if not candidates:
            return None
        _, _, route, parameters = min(candidates, key=lambda c: (c[0], c[1]))
        return route, parameters

    def split_stage(self, path: str) -> tuple[str, str] | None:
        """(stage, path within the stage) for a request path, or None if no stage serves it.

        The `$default` stage serves the root; any other stage serves `/<stage>/...`."""
        first = path.lstrip("/").split("/", 1)[0]
        named = [s for s in self.stages if s != DEFAULT_STAGE]
        if first in named:
            rest = path.lstrip("/")[len(first) :]
            return first, rest or "/"
        if DEFAULT_STAGE in self.stages:
            return DEFAULT_STAGE, path
        return None


def _segments(path: str) -> list[str]:
    """A path's segments, empty ones kept: `//instruments` or `/instruments/` is not
    `/instruments`, so it matches no route (API Gateway does not collapse slashes)."""
    return [unquote(part) for part in path.split("/")[1:]] if path != "/" else []


def _kind(part: str) -> tuple[int, str]:
    if part.startswith("{") and part.endswith("+}"):
        return _GREEDY, part[1:-2]
    if part.startswith("{") and part.endswith("}"):
        return _VARIABLE, part[1:-1]
    return _LITERAL, part

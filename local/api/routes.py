"""An HTTP API's route table as the deployer read it from the template, and route selection as
API Gateway does it for HTTP APIs.

A route key is `METHOD /path` (`ANY` matches every method) or `$default`. A path segment is a
literal, a `{name}` variable (one segment) or, last, a greedy `{name+}` (the rest of the path).
When several routes match, the most specific wins: literal segments before variables before a
greedy variable, a named method before `ANY`, and `$default` only when nothing else matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

DEFAULT_ROUTE = "$default"
DEFAULT_STAGE = "$default"
_LITERAL, _VARIABLE, _GREEDY = 0, 1, 2


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
    return [unquote(part) for part in path.strip("/").split("/")] if path.strip("/") else []


def _kind(part: str) -> tuple[int, str]:
    if part.startswith("{") and part.endswith("+}"):
        return _GREEDY, part[1:-2]
    if part.startswith("{") and part.endswith("}"):
        return _VARIABLE, part[1:-1]
    return _LITERAL, part

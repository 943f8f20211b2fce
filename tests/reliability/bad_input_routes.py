"""What the platform exposes, read from its code rather than listed here: the routes cdk/api.py
deploys, the frontend API's own routes and OpenAPI document, each webhook door with its handler
and the sources it publishes as, the formats of lambdas/ingress/formats.py, the provider events
of domain/webhooks.py and the Adyen event codes Drexfy maps. The bad-input harness generates its
requests from these, and test_bad_input.py fails if any of them goes without requests."""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterable
from typing import Any

WEBHOOKS = "/webhooks/"
FRONTEND_FUNCTION = "FrontendApi"
PARAMETER = re.compile(r"\{(\w+)\}")

Route = tuple[str, str]  # (method, path template with {parameters})


@functools.cache
def frontend_routes() -> tuple[Route, ...]:
    """Every frontend route: as deployed, as its handler routes them, and as documented."""
    from cdk.api import ROUTES
    from lambdas.frontend import api
    from lambdas.frontend.openapi import openapi_document

    deployed = {(r.method, r.path) for r in ROUTES if r.function == FRONTEND_FUNCTION}
    handled = {
        (method, re.sub(r"<(\w+)>", r"{\1}", path))
        for path, methods in api.ROUTES.items()
        for method in methods
    }
    paths = openapi_document(api.app)["paths"]
    documented = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    return tuple(sorted(deployed | handled | documented))


@functools.cache
def webhook_doors() -> dict[str, str]:
    """Each webhook door (its path's last segment) and its handler, as cdk/api.py deploys it."""
    from cdk.api import API_FUNCTIONS, ROUTES

    handlers = {function.name: function.handler for function in API_FUNCTIONS}
    return {
        route.path.removeprefix(WEBHOOKS): handlers[route.function]
        for route in ROUTES
        if route.path.startswith(WEBHOOKS)
    }


def webhook_sources() -> tuple[str, ...]:
    """The bus sources the webhook doors publish as."""
    from cdk.api import API_FUNCTIONS

    doors = set(webhook_doors().values())
    return tuple(
        sorted({p.source for f in API_FUNCTIONS if f.handler in doors for p in f.publishes})
    )


def handler_of(door: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    module, name = webhook_doors()[door].rsplit(".", 1)
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] = getattr(
        importlib.import_module(module), name
    )
    return handler


def webhook_formats() -> set[str]:
    """The names of the formats lambdas/ingress/formats.py defines (its WebhookFormat objects)."""
    from lambdas.ingress import formats

    return {
        value.name
        for value in vars(formats).values()
        if not isinstance(value, type)
        and callable(getattr(value, "read", None))
        and callable(getattr(value, "answer", None))
        and isinstance(getattr(value, "name", None), str)
    }


def provider_events() -> set[str]:
    """Every provider event a door takes (domain/webhooks.py's *_EVENTS)."""
    from domain import webhooks

    return {
        event
        for name, events in vars(webhooks).items()
        if name.endswith("_EVENTS") and isinstance(events, dict)
        for event in events
    }


def adyen_codes() -> set[str]:
    """The Adyen event codes Drexfy acts on: a payment, and what became of a payout or refund."""
    from domain import adyen

    return {"AUTHORISATION", *(code for code, _ in adyen._OUTCOMES)}


def route_of(routes: Iterable[Route], method: str, path: str) -> Route | None:
    """The route a request is (path decoded), if any."""
    for route_method, template in routes:
        pattern = "[^/]+".join(re.escape(text) for text in PARAMETER.split(template)[::2])
        if method == route_method and re.fullmatch(pattern, path):
            return route_method, template
    return None

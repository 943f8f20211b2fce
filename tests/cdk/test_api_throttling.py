"""Floods stop at the door: the HTTP API's stage throttles every route, and the API's functions
have reserved concurrency, a cap that leaves the account's pool to the workflows' functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cdk.api import API_FUNCTIONS, RESERVED_CONCURRENCY
from cdk.environments import environment_named
from tests.cdk.conftest import ENVIRONMENTS, Synthesis, resources_of

ACCOUNT_CONCURRENCY = 1_000  # Lambda's default quota per account and Region
UNRESERVED_MINIMUM = 100  # Lambda keeps this much unreserved, whatever is reserved
WARM_WEBHOOK_SECONDS = 0.2  # a webhook's duration, warm (the sizing in cdk/api.py)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_route_is_throttled_at_the_stage(
    env: str, synthesized: Callable[[str], Synthesis]
) -> None:
    template = synthesized(env).template()
    (stage,) = resources_of(template, "AWS::ApiGatewayV2::Stage")
    settings = stage["Properties"]["DefaultRouteSettings"]
    environment = environment_named(env)

    assert settings["ThrottlingRateLimit"] == environment.api_rate_per_second
    assert settings["ThrottlingBurstLimit"] == environment.api_burst
    assert "RouteSettings" not in stage["Properties"], "no route escapes the default"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_apis_functions_have_reserved_concurrency(
    env: str, synthesized: Callable[[str], Synthesis]
) -> None:
    functions = resources_of(synthesized(env).template(), "AWS::Lambda::Function")
    by_handler: dict[str, dict[str, Any]] = {f["Properties"]["Handler"]: f for f in functions}

    for task in API_FUNCTIONS:
        properties = by_handler[task.handler]["Properties"]
        assert properties.get("ReservedConcurrentExecutions") == RESERVED_CONCURRENCY[task.name]


def test_together_the_api_cannot_take_the_accounts_pool() -> None:
    """At most a tenth of the default quota: the workflows keep the rest, and a deploy leaves
    Lambda's unreserved minimum whatever the workflows reserve."""
    total = sum(RESERVED_CONCURRENCY.values())
    assert set(RESERVED_CONCURRENCY) == {task.name for task in API_FUNCTIONS}
    assert total <= ACCOUNT_CONCURRENCY // 10
    assert ACCOUNT_CONCURRENCY - total >= UNRESERVED_MINIMUM


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_stage_throttles_before_a_webhook_runs_out_of_concurrency(env: str) -> None:
    """Little's law: what a route lets through at its rate, running warm, fits the reservation,
    so a caller past the rate gets the stage's 429 rather than Lambda's throttling (a 500)."""
    at_once = environment_named(env).api_rate_per_second * WARM_WEBHOOK_SECONDS
    assert at_once <= min(
        RESERVED_CONCURRENCY["PaymentWebhook"], RESERVED_CONCURRENCY["KycWebhook"]
    )

"""Personal data is kept only where it belongs, for as long as it is needed (issue 17).

Read from the synthesized templates of every environment: execution data (state inputs and
outputs: investor ids, payments, AML reasons) reaches the workflows' logs only where the data
is made up; webhook requests expire; the bus archive does not keep events forever.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cdk.environments import environment_named
from cdk.workflows import WORKFLOWS
from tests.cdk.conftest import ENVIRONMENTS, Synthesis, resources_of

WITH_EXECUTION_DATA = {"local", "dev"}  # made-up data only


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_workflow_logs_carry_execution_data_only_where_the_data_is_made_up(
    synthesized: Callable[[str], Synthesis], env: str
) -> None:
    machines = resources_of(synthesized(env).template(), "AWS::StepFunctions::StateMachine")
    assert len(machines) == len(WORKFLOWS) == 10
    for machine in machines:
        logging = machine["Properties"]["LoggingConfiguration"]
        assert logging["Level"] == "ALL", "states, errors and timings are still logged"
        assert logging["IncludeExecutionData"] is (env in WITH_EXECUTION_DATA), env
    assert environment_named(env).log_execution_data is (env in WITH_EXECUTION_DATA)


def test_production_workflow_logs_have_no_execution_data(prod_template: dict[str, Any]) -> None:
    for machine in resources_of(prod_template, "AWS::StepFunctions::StateMachine"):
        assert machine["Properties"]["LoggingConfiguration"]["IncludeExecutionData"] is False


def test_webhook_requests_expire_by_ttl(prod_template: dict[str, Any]) -> None:
    """The handler sets `expires_at` (tests/ingress/test_webhooks.py)."""
    tables = {
        logical_id: resource
        for logical_id, resource in prod_template["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::GlobalTable"
    }
    (webhooks,) = [t for k, t in tables.items() if k.startswith("TablesWebhooks")]
    assert webhooks["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_bus_archive_keeps_events_for_a_stated_time_never_forever(
    synthesized: Callable[[str], Synthesis], env: str
) -> None:
    (archive,) = resources_of(synthesized(env).template(), "AWS::Events::Archive")
    days = archive["Properties"]["RetentionDays"]
    assert days == environment_named(env).archive_retention_days
    assert days > 0, "0 is indefinite"


def test_production_replays_reach_back_over_a_year(prod_template: dict[str, Any]) -> None:
    (archive,) = resources_of(prod_template, "AWS::Events::Archive")
    assert archive["Properties"]["RetentionDays"] == 400

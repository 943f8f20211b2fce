"""Workflow tests: the platform bootstrapped, and a ledger that closes when a workflow waits."""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

from local.aws.platform import LocalAws
from local.payment_gateway import announce_as_the_webhook_would
from tests.support.waiting import wait_for

_investor_numbers = itertools.count(1)


def new_investor_id() -> str:
    return f"inv-{next(_investor_numbers)}-{uuid.uuid4().hex[:6]}"


def payment(investor_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "payment_id": f"pay-{uuid.uuid4().hex[:12]}",
        "investor_id": investor_id,
        "instrument_id": "SME-2027-A",
        "units": 2,
        "amount": "200.00",
        "currency": "EUR",
        **overrides,
    }


def put_payment(
    aws: LocalAws, detail: dict[str, Any], when: float | None = None, announced: bool = True
) -> str:
    """PaymentReceived on the bus, as the payments webhook puts it (announced first)."""
    if announced:
        announce_as_the_webhook_would(detail)
    entry: dict[str, Any] = {
        "Source": "drexfy.payments",
        "DetailType": "PaymentReceived",
        "EventBusName": aws.stack.output("EventBusName"),
        "Detail": json.dumps(detail),
    }
    if when is not None:
        entry["Time"] = when
    result = aws.client("events").put_events(Entries=[entry])
    assert result["FailedEntryCount"] == 0
    return str(result["Entries"][0]["EventId"])


def executions_for(aws: LocalAws, payment_id: str, finished: bool = True) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    found = []
    arn = aws.stack.output("PurchaseStateMachineArn")
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        for summary in page["executions"]:
            execution = sfn.describe_execution(executionArn=summary["executionArn"])
            if json.loads(execution["input"])["payment"].get("payment_id") == payment_id:
                found.append(execution)
    return [e for e in found if not finished or e["status"] != "RUNNING"]


def run_payment(aws: LocalAws, detail: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    put_payment(aws, detail)
    return wait_for(lambda: executions_for(aws, detail["payment_id"]), timeout)[0]  # type: ignore[no-any-return]


def history(aws: LocalAws, execution_arn: str) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


def state_names(aws: LocalAws, execution_arn: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in history(aws, execution_arn)
        if "stateEnteredEventDetails" in e
    ]


def distinct_states(aws: LocalAws, execution_arn: str) -> list[str]:
    """State names in first-entered order, each once (polling loops repeat them)."""
    return list(dict.fromkeys(state_names(aws, execution_arn)))

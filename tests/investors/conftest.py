"""Investor workflows end to end: KYC/AML decisions put on the bus, as the webhooks do."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.aws.platform import LocalAws
from tests.support.bus import SeenEvents, watching_bus
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def notifications(aws: LocalAws) -> Iterator[SeenEvents]:
    """Every notification for the frontend, as a queue subscribed to the bus sees it."""
    with watching_bus(aws, "drexfy.investors", "drexfy.purchases") as seen:
        yield seen


def decision(
    investor_id: str, case_id: str | None = None, minutes: int = 0, **more: Any
) -> dict[str, Any]:
    when = datetime.now(UTC) + timedelta(minutes=minutes)
    return {
        "investor_id": investor_id,
        "case_id": case_id or f"case-{uuid.uuid4().hex[:8]}",
        "occurred_at": when.isoformat(),
        **more,
    }


def put_decision(aws: LocalAws, detail_type: str, detail: dict[str, Any]) -> str:
    result = aws.client("events").put_events(
        Entries=[
            {
                "Source": "drexfy.kyc",
                "DetailType": detail_type,
                "EventBusName": aws.stack.output("EventBusName"),
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert result["FailedEntryCount"] == 0
    return str(result["Entries"][0]["EventId"])


def finished(aws: LocalAws, workflow: str, case_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The finished executions of a workflow for one KYC/AML case."""
    sfn = aws.client("stepfunctions")
    arn = aws.stack.output(f"{workflow}StateMachineArn")

    def done() -> list[dict[str, Any]]:
        found = []
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            for summary in page["executions"]:
                execution = sfn.describe_execution(executionArn=summary["executionArn"])
                ours = json.loads(execution["input"])["decision"].get("case_id") == case_id
                if ours and execution["status"] != "RUNNING":
                    found.append(execution)
        return found if len(found) >= count else []

    return wait_for(done, timeout=60)  # type: ignore[no-any-return]


def run_decision(aws: LocalAws, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    workflow = "Compliance" if detail_type.startswith("Aml") else "Onboarding"
    before = len(finished_or_empty(aws, workflow, detail["case_id"]))
    put_decision(aws, detail_type, detail)
    executions = finished(aws, workflow, detail["case_id"], before + 1)
    return max(executions, key=lambda e: e["startDate"])


def finished_or_empty(aws: LocalAws, workflow: str, case_id: str) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    arn = aws.stack.output(f"{workflow}StateMachineArn")
    found = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        for summary in page["executions"]:
            execution = sfn.describe_execution(executionArn=summary["executionArn"])
            if json.loads(execution["input"])["decision"].get("case_id") == case_id:
                found.append(execution)
    return found


@pytest.fixture(scope="module")
def drexfy_ops(aws: LocalAws, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """The operators' tool, run in this process against the local platform; its JSON answer."""
    from local.aws.server import write_state
    from ops.cli import main

    state_file = tmp_path_factory.mktemp("ops") / "aws.json"
    write_state(state_file, aws)

    def run(*args: str) -> Any:
        out = io.StringIO()
        code = main(["--state-file", str(state_file), "--json", *args], out=out)
        assert code == 0, out.getvalue()
        return json.loads(out.getvalue())

    return run


def operator_decision(
    aws: LocalAws, drexfy_ops: Callable[..., Any], action: str, investor_id: str, reason: str
) -> dict[str, Any]:
    """`drexfy-ops investor ID block|unblock --reason …`, run to the end of its workflow."""
    event = drexfy_ops("investor", investor_id, action, "--reason", reason)
    return max(finished(aws, "Compliance", event["case_id"]), key=lambda e: e["startDate"])

"""Running the Reconciliation workflow from a test, as the schedule or an operator does, and
waiting for the platform to be quiet first (nothing left running that would move money)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from local.aws.platform import LocalAws
from tests.support.waiting import wait_for

MOVERS = ("Purchase", "Withdrawal", "Settlement", "Distribution", "Collection", "Compliance")


def reconcile(aws: LocalAws, **request: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The execution and the report it kept."""
    from lambdas.records import reconciliations

    sfn = aws.client("stepfunctions")
    name = f"test-{uuid.uuid4().hex[:12]}"
    arn = aws.stack.output("ReconciliationStateMachineArn")
    sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(request))
    execution_arn = arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def finished() -> dict[str, Any] | None:
        found: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        return found if found["status"] != "RUNNING" else None

    execution = wait_for(finished, timeout=300)
    kept = reconciliations.find(name)
    assert kept is not None, execution
    return execution, {"cut_off": kept.cut_off, **kept.report}


def quiet(aws: LocalAws, timeout: float = 300) -> None:
    """No execution of a workflow that moves money is still running, and the provider has no
    answer left to send (a webhook being retried starts a Settlement when it gets through)."""
    sfn = aws.client("stepfunctions")
    machines = [aws.stack.output(f"{name}StateMachineArn") for name in MOVERS]

    def none_running() -> bool:
        return provider_done(aws) and not any(
            sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
            for arn in machines
        )

    wait_for(none_running, timeout=timeout, interval=0.5)


def provider_done(aws: LocalAws) -> bool:
    """The provider stand-in sends no webhook now nor later (held ones wait for their test)."""
    return aws.provider is None or aws.provider.sending() == 0

"""Finish a purchase whose execution stopped: RedriveExecution in AWS; locally, where moto has
no redrive, a new execution of the same input marked as a redrive.

Both rely on the same property: every step is idempotent under its business key, so no ledger
transaction that already validated is submitted again. A redriven purchase that had begun to
undo goes on undoing (see domain.purchase.handling_for).
"""

from __future__ import annotations

import json
import uuid
from typing import Any


class NotRedrivable(RuntimeError):
    """The purchase has no stopped execution to redrive."""


def redrive_purchase(sfn: Any, purchase_id: str, *, native: bool) -> str:
    """Redrive the purchase's execution; returns the ARN of the execution that now runs it."""
    from lambdas.records.purchases import find

    record = find(purchase_id)
    if record is None or not record.execution_arn:
        raise NotRedrivable(f"{purchase_id}: no purchase with an execution")
    execution = sfn.describe_execution(executionArn=record.execution_arn)
    if execution["status"] in ("RUNNING", "SUCCEEDED"):
        raise NotRedrivable(f"{purchase_id}: its execution is {execution['status']}")
    if native:
        sfn.redrive_execution(executionArn=record.execution_arn)
        return record.execution_arn
    payload = {**json.loads(execution["input"]), "redrive": True}
    started = sfn.start_execution(
        stateMachineArn=execution["stateMachineArn"],
        name=f"{purchase_id}-redrive-{uuid.uuid4().hex[:8]}",
        input=json.dumps(payload),
    )
    return str(started["executionArn"])

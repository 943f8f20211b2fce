"""Starting a distribution's workflow: one execution per instrument and payment date, named so
that a second start (a replayed schedule, a catch-up day) finds the first."""

from __future__ import annotations

import json
from datetime import date

from botocore.exceptions import ClientError

from lambdas.aws_clients import step_functions, transient_faults
from lambdas.config import settings


def execution_name(instrument_id: str, payment_date: date) -> str:
    return f"{instrument_id}-{payment_date.isoformat()}"


def start(instrument_id: str, payment_date: date) -> bool:
    """True if this started it; False if an execution of that name exists (any status)."""
    request = {"instrument_id": instrument_id, "payment_date": payment_date.isoformat()}
    with transient_faults(f"start distribution {instrument_id} {payment_date}"):
        try:
            step_functions().start_execution(
                stateMachineArn=settings().distribution_workflow,
                name=execution_name(instrument_id, payment_date),
                input=json.dumps(request),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise
    return True

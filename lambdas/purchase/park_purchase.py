"""Task "Park for operator": undoing could not finish (or the deposit could not be recorded),
so a person must look.

The first call parks the purchase (NEEDS_OPERATOR, the exact reason, a metric for the alarm)
and fails the execution. RedriveExecution re-runs this task once the cause is fixed: the
execution's RedriveCount has grown since the parking, so the purchase goes back to undoing,
in a new round, and every compensation that already validated is skipped.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.errors import NeedsOperator
from domain.purchase import failure_reason, purchase_id_of
from lambdas.records import purchases
from lambdas.tasks import PurchaseCompensation, parse

logger = Logger(service="purchase")
METRICS_NAMESPACE = "Drexfy"


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(PurchaseCompensation, event)
    purchase_id = purchase_id_of(event)
    logger.append_keys(purchase_id=purchase_id)
    parked = purchases.find(purchase_id)
    if parked is not None and parked.redriven_since_parked(task.redrive_count):
        purchases.resume_compensation(purchase_id)
        logger.info("redriven by an operator: resuming compensation")
        return {"purchase_id": purchase_id, "checks": 0}
    reason = failure_reason(task.failure or {})
    _count_parked()
    record = purchases.park(
        purchase_id, reason, task.payment or {}, task.execution, task.redrive_count
    )
    logger.error("purchase parked for an operator", extra={"reason": reason})
    raise NeedsOperator(f"{purchase_id} is {record.status}: {reason}")


def _count_parked() -> None:
    """The metric the parked-purchases alarm watches (cdk/observability.py)."""
    with single_metric(
        name="PurchasesParked", unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE
    ) as metric:
        metric.add_dimension(name="service", value="purchase")

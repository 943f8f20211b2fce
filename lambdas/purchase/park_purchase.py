"""Task "Park for operator": a compensation could not finish, so a person must look.

The first call parks the purchase (NEEDS_OPERATOR, the exact reason, a metric for the alarm)
and fails the execution. A redrive re-runs this task once the cause is fixed: the purchase is
already parked, so it is handed back to the compensation, which skips what already validated.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.errors import NeedsOperator
from domain.purchase import PurchaseStatus, failure_reason
from lambdas import purchase_records

logger = Logger(service="purchase")
METRICS_NAMESPACE = "Drexfy"


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    purchase_id = str(event.get("purchase_id", "unknown"))
    logger.append_keys(purchase_id=purchase_id)
    record = purchase_records.find(purchase_id)
    if record is not None and record.status == PurchaseStatus.NEEDS_OPERATOR:
        purchase_records.resume_compensation(purchase_id)
        logger.info("redriven by an operator: resuming compensation")
        return {"purchase_id": purchase_id, "checks": 0}
    reason = failure_reason(event.get("failure") or {})
    purchase_records.park(purchase_id, reason)
    with single_metric(
        name="PurchasesParked", unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE
    ) as metric:
        metric.add_dimension(name="service", value="purchase")
    logger.error("purchase parked for an operator", extra={"reason": reason})
    raise NeedsOperator(f"{purchase_id}: {reason}")

"""Task "Begin compensation": the purchase is marked as being undone, with why."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.purchase import failure_reason
from lambdas import purchase_records

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(purchase_id=event["purchase_id"])
    reason = failure_reason(event.get("failure") or {"Error": "OperatorRedrive"})
    record = purchase_records.begin_compensation(event["purchase_id"], reason)
    logger.warning("undoing purchase", extra={"reason": record.reason})
    return {"purchase_id": record.purchase_id, "checks": 0, "reason": record.reason}

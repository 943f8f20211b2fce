"""Task "Begin compensation": the purchase is marked as being undone, with why."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.purchase import failure_reason
from lambdas.records import purchases
from lambdas.tasks import CompensationBegun, PurchaseStep, answer, parse

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(PurchaseStep, event)
    logger.append_keys(purchase_id=task.purchase_id)
    failure = event.get("failure")
    reason = failure_reason(failure if isinstance(failure, dict) else {"Error": "OperatorRedrive"})
    record = purchases.begin_compensation(task.purchase_id, reason)
    logger.warning("undoing purchase", extra={"reason": record.reason})
    return answer(CompensationBegun(record.purchase_id, record.reason))

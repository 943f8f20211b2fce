"""Task "Complete purchase": the reserved units become sold and the purchase DELIVERED."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.records import purchases
from lambdas.tasks import PurchaseStep, parse

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(PurchaseStep, event)
    logger.append_keys(purchase_id=task.purchase_id)
    record = purchases.complete_delivery(task.purchase_id)
    logger.info("purchase delivered")
    return record.summary()

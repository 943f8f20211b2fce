"""Task "Complete purchase": the reserved units become sold and the purchase DELIVERED."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas import purchase_records

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(purchase_id=event["purchase_id"])
    record = purchase_records.complete_delivery(event["purchase_id"])
    logger.info("purchase delivered")
    return purchase_records.summary(record)

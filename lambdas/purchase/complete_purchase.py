"""Task "Complete purchase": units sold, purchase DELIVERED, and the frontend told."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas import platform_events, purchase_records

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(purchase_id=event["purchase_id"])
    summary = purchase_records.summary(purchase_records.complete_delivery(event["purchase_id"]))
    platform_events.publish("PurchaseCompleted", summary)
    logger.info("purchase delivered")
    return summary

"""Task "Announce delivery": PurchaseCompleted on the bus for the frontend.

Separate from "Complete purchase" so that a bus outage after delivery can only delay the
announcement (the task retries, and a redrive re-runs it), never undo a delivered purchase.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas import platform_events
from lambdas.tasks import PurchaseStep, parse

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(purchase_id=parse(PurchaseStep, event).purchase_id)
    event_id = platform_events.publish("PurchaseCompleted", event)
    logger.info("delivery announced", extra={"event_id": event_id})
    return event

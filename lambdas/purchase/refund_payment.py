"""Compensation "Refund payment": the purchase is marked refunded, with the reason it failed."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.purchase import failure_reason, purchase_id_for
from lambdas import purchase_records

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payment = event.get("payment") or {}
    payment_id = str(payment.get("payment_id") or f"event-{event.get('event_id', 'unknown')}")
    reason = failure_reason(event.get("failure") or {})
    record = purchase_records.record_refund(purchase_id_for(payment_id), payment, reason)
    logger.info("refund requested", extra={"purchase_id": record.purchase_id, "reason": reason})
    return {"purchase_id": record.purchase_id, "status": record.status, "reason": reason}

"""Compensation "Refund payment": the purchase is REFUNDED and the gateway asked to refund it."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.purchase import failure_reason, purchase_id_of
from lambdas import platform_events, purchase_records

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    purchase_id = purchase_id_of(event)
    logger.append_keys(purchase_id=purchase_id)
    failure = event.get("failure")
    reason = failure_reason(failure) if failure else "refunded"
    payment = event.get("payment")
    fields = payment if isinstance(payment, dict) else {}
    record = purchase_records.record_refund(purchase_id, fields, reason)
    summary = purchase_records.summary(record)
    if not record.refund_requested:
        platform_events.publish("RefundRequested", summary)
        purchase_records.mark_refund_requested(purchase_id)
    logger.info("refund requested", extra={"reason": record.reason})
    return summary

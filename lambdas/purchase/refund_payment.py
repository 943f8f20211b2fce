"""Compensation "Refund payment": the gateway is asked to refund, then the purchase is REFUNDED.

RefundRequested goes on the bus before the record says REFUNDED, so a crash in between repeats
the request (the gateway deduplicates on purchase_id) rather than losing it.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.purchase import PurchaseStatus, failure_reason, purchase_id_of
from lambdas import platform_events, purchase_records

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    purchase_id = purchase_id_of(event)
    logger.append_keys(purchase_id=purchase_id)
    failure = event.get("failure")
    reason = failure_reason(failure) if failure else "refunded"
    payment = event.get("payment")
    record = purchase_records.claim_refund(
        purchase_id,
        payment if isinstance(payment, dict) else {},
        reason,
        str(event.get("execution", "")),
    )
    if record is None:
        logger.warning("another execution owns this purchase: nothing refunded here")
        return {"purchase_id": purchase_id, "handling": "DUPLICATE"}
    if not record.refund_requested:
        summary = purchase_records.summary(record)
        reason = record.reason or reason
        platform_events.publish(
            "RefundRequested", {**summary, "status": PurchaseStatus.REFUNDED, "reason": reason}
        )
    record = purchase_records.mark_refunded(purchase_id, reason)
    logger.info("refund requested", extra={"reason": record.reason})
    return purchase_records.summary(record)

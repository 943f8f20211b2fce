"""Compensation "Refund payment": the gateway is asked to refund, then the purchase is REFUNDED.

The record says the refund is asked before RefundRequested goes on the bus (the provider may
answer at once, and its answer must find a refund asked for), and REFUNDED after: a crash in
between repeats the request (the provider deduplicates on its idempotency key) rather than
losing it.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.purchase import PurchaseStatus, failure_reason, purchase_id_of
from lambdas import platform_events
from lambdas.records import purchases
from lambdas.tasks import PurchaseCompensation, parse

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(PurchaseCompensation, event)
    purchase_id = purchase_id_of(event)
    logger.append_keys(purchase_id=purchase_id)
    reason = failure_reason(task.failure) if task.failure else "refunded"
    record = purchases.claim_refund(purchase_id, task.payment or {}, reason, task.execution)
    if record is None:
        logger.warning("another execution owns this purchase: nothing refunded here")
        return {"purchase_id": purchase_id, "handling": "DUPLICATE"}
    if record.status is not PurchaseStatus.REFUNDED:
        purchases.mark_refund_asked(purchase_id)
        summary = record.summary()
        reason = record.reason or reason
        platform_events.publish(
            "RefundRequested",
            {
                **summary,
                "status": PurchaseStatus.REFUNDED,
                "reason": reason,
                # the provider deduplicates on it: a repeated request refunds once
                "idempotency_key": f"refund-{purchase_id}",
            },
        )
    record = purchases.mark_refunded(purchase_id, reason)
    logger.info("refund requested", extra={"reason": record.reason})
    return record.summary()

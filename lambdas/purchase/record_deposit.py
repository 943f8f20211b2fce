"""Task "Record deposit": the payment becomes a purchase record, once."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.purchase import Payment
from lambdas import purchase_records

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payment = Payment.from_event(event.get("payment") or {})
    logger.append_keys(purchase_id=payment.purchase_id, payment_id=payment.payment_id)
    record = purchase_records.record_deposit(payment)
    logger.info("deposit recorded")
    return {
        "purchase_id": record.purchase_id,
        "payment_id": record.payment_id,
        "investor_id": record.investor_id,
        "instrument_id": record.instrument_id,
        "units": int(record.units),
        "amount": record.amount,
        "currency": record.currency,
        "status": record.status,
    }

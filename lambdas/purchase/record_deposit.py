"""Task "Record deposit": the payment, as the gateway's webhook announced it, becomes a purchase
with its units reserved, once."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.purchase import payment_as_announced
from lambdas import investor_records, payment_announcements, purchase_records

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = event.get("payment") or {}
    payment = payment_as_announced(detail, payment_announcements.find(detail.get("payment_id")))
    logger.append_keys(purchase_id=payment.purchase_id, payment_id=payment.payment_id)
    record, handling = purchase_records.open_purchase(
        payment,
        investor_records.find_standing(payment.investor_id),
        execution_arn=str(event.get("execution", "")),
        redrive=event.get("redrive") is True,
    )
    logger.info("deposit recorded", extra={"handling": handling.value})
    return {**purchase_records.summary(record), "handling": handling.value}

"""Task "Record deposit": the payment, as the gateway's webhook announced it, becomes a purchase
with its units reserved, once."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.purchase import payment_as_announced
from lambdas.records import investors, payments, purchases
from lambdas.tasks import Deposit, parse

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(Deposit, event)
    announced = payments.find(task.payment.get("payment_id"))
    payment = payment_as_announced(task.payment, announced)
    logger.append_keys(purchase_id=payment.purchase_id, payment_id=payment.payment_id)
    standing = investors.find_standing(payment.investor_id)
    record, handling = purchases.open_purchase(
        payment, standing, execution_arn=task.execution, redrive=task.redrive
    )
    logger.info("deposit recorded", extra={"handling": handling.value})
    return {**record.summary(), "handling": handling.value}

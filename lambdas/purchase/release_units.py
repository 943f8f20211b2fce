"""Compensation "Release units": the purchase's reserved units go back on sale, once."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.purchase import purchase_id_of
from lambdas.records import purchases
from lambdas.tasks import PurchaseCompensation, UnitsReleased, answer, parse

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(PurchaseCompensation, event)
    purchase_id = purchase_id_of(event)
    logger.append_keys(purchase_id=purchase_id)
    record = purchases.release_units(purchase_id, task.execution)
    held = bool(record and record.units_held)
    logger.info("units released", extra={"still_held": held})
    return answer(UnitsReleased(purchase_id, held))

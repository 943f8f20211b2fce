"""Task "Authorize trust line": the investor can hold the stablecoin and this instrument."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.tasks import PurchaseStep, parse

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # xrpl-py, ~200 ms: loaded on first use, not at import
    from lambdas.ledger_services.purchases import purchase_settlement

    task = parse(PurchaseStep, event)
    logger.append_keys(purchase_id=task.purchase_id)
    return purchase_settlement().ready_holdings(task.purchase_id, task.checks).as_output()

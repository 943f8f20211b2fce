"""Task "Authorize trust line": the investor can hold the stablecoin and this instrument."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="purchase")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from lambdas.purchase.settlement import purchase_ledger  # xrpl-py, ~200 ms: on first use

    logger.append_keys(purchase_id=event["purchase_id"])
    progress = purchase_ledger().ready_holdings(event["purchase_id"], int(event.get("checks", 0)))
    return progress.as_output()

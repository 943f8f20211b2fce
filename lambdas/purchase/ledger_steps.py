"""The saga's ledger steps, one small handler each (so each Lambda can be granted only its key).

Each call advances its step by one check and answers PENDING or DONE (or, for the mint,
ACCEPTED: applied to the open ledger, so its successors may follow); the workflow waits.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.settlement import Step

if TYPE_CHECKING:
    from lambdas.purchase.settlement import Progress, PurchaseLedger

logger = Logger(service="purchase")

Check = Callable[["PurchaseLedger", str, Step, int], "Progress"]


def _check(check: Check, step: Step, event: dict[str, Any], message: str) -> dict[str, Any]:
    from lambdas.purchase.settlement import purchase_ledger  # xrpl-py, ~200 ms: on first use

    logger.append_keys(purchase_id=event["purchase_id"], step=step.value)
    progress = check(purchase_ledger(), event["purchase_id"], step, int(event.get("checks", 0)))
    logger.info(message, extra={"state": progress.state})
    return progress.as_output()


def _forward(step: Step, event: dict[str, Any]) -> dict[str, Any]:
    from lambdas.purchase.settlement import PurchaseLedger

    return _check(PurchaseLedger.advance, step, event, "step checked")


def _reverse(step: Step, event: dict[str, Any]) -> dict[str, Any]:
    from lambdas.purchase.settlement import PurchaseLedger

    return _check(PurchaseLedger.reverse, step, event, "compensation checked")


@logger.inject_lambda_context(clear_state=True)
def mint_stablecoin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _forward(Step.MINT, event)


@logger.inject_lambda_context(clear_state=True)
def confirm_mint(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The mint its successors already followed into the open ledger, until it validated."""
    from lambdas.purchase.settlement import PurchaseLedger

    return _check(PurchaseLedger.confirm, Step.MINT, event, "mint confirmation checked")


@logger.inject_lambda_context(clear_state=True)
def transfer_stablecoin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _forward(Step.TRANSFER, event)


@logger.inject_lambda_context(clear_state=True)
def deliver_instrument(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _forward(Step.DELIVER, event)


@logger.inject_lambda_context(clear_state=True)
def take_back_instrument(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _reverse(Step.TAKE_BACK, event)


@logger.inject_lambda_context(clear_state=True)
def redeem_stablecoin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _reverse(Step.REDEEM, event)


@logger.inject_lambda_context(clear_state=True)
def claw_back_stablecoin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _reverse(Step.CLAW_BACK, event)

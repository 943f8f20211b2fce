"""The saga's ledger steps, one small handler each (so each Lambda can be granted only its key).

Each call drives its step one check further and answers PENDING or DONE (or, for the mint,
ACCEPTED: applied to the open ledger, so its successors may follow); the workflow waits.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.settlement import Step
from lambdas.tasks import PurchaseStep, parse

if TYPE_CHECKING:
    from lambdas.ledger_services.purchases import Progress

logger = Logger(service="purchase")


def _check(how: str, step: Step, event: dict[str, Any], message: str) -> dict[str, Any]:
    """Call the settlement's method `how` (advance, confirm or reverse) for the step."""
    # xrpl-py, ~200 ms: loaded on first use, not at import
    from lambdas.ledger_services.purchases import purchase_settlement

    task = parse(PurchaseStep, event)
    logger.append_keys(purchase_id=task.purchase_id, step=step.value)
    settlement = purchase_settlement()
    check: Callable[[str, Step, int], Progress] = getattr(settlement, how)
    progress = check(task.purchase_id, step, task.checks)
    logger.info(message, extra={"state": progress.state})
    return progress.as_output()


@logger.inject_lambda_context(clear_state=True)
def mint_stablecoin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _check("advance", Step.MINT, event, "step checked")


@logger.inject_lambda_context(clear_state=True)
def confirm_mint(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The mint its successors already followed into the open ledger, until it validated."""
    return _check("confirm", Step.MINT, event, "mint confirmation checked")


@logger.inject_lambda_context(clear_state=True)
def transfer_stablecoin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _check("advance", Step.TRANSFER, event, "step checked")


@logger.inject_lambda_context(clear_state=True)
def deliver_instrument(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _check("advance", Step.DELIVER, event, "step checked")


@logger.inject_lambda_context(clear_state=True)
def take_back_instrument(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _check("reverse", Step.TAKE_BACK, event, "compensation checked")


@logger.inject_lambda_context(clear_state=True)
def redeem_stablecoin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _check("reverse", Step.REDEEM, event, "compensation checked")


@logger.inject_lambda_context(clear_state=True)
def claw_back_stablecoin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _check("reverse", Step.CLAW_BACK, event, "compensation checked")

"""The saga's ledger steps, one small handler each (so each Lambda can be granted only its key).

Each call advances its step by one check and answers PENDING or DONE (or, for the mint,
ACCEPTED: applied to the open ledger, so its successors may follow); the workflow waits.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.settlement import Step

logger = Logger(service="purchase")


def _forward(step: Step, event: dict[str, Any]) -> dict[str, Any]:
    from lambdas.purchase.settlement import purchase_ledger  # xrpl-py, ~200 ms: on first use

    logger.append_keys(purchase_id=event["purchase_id"], step=step.value)
    progress = purchase_ledger().advance(event["purchase_id"], step, int(event.get("checks", 0)))
    logger.info("step checked", extra={"state": progress.state})
    return progress.as_output()


def _confirm(step: Step, event: dict[str, Any]) -> dict[str, Any]:
    from lambdas.purchase.settlement import purchase_ledger  # xrpl-py, ~200 ms: on first use

    logger.append_keys(purchase_id=event["purchase_id"], step=step.value)
    progress = purchase_ledger().confirm(event["purchase_id"], step, int(event.get("checks", 0)))
    logger.info("step confirmed" if progress.state == "DONE" else "step checked")
    return progress.as_output()


def _reverse(step: Step, event: dict[str, Any]) -> dict[str, Any]:
    from lambdas.purchase.settlement import purchase_ledger  # xrpl-py, ~200 ms: on first use

    logger.append_keys(purchase_id=event["purchase_id"], step=step.value)
    progress = purchase_ledger().reverse(event["purchase_id"], step, int(event.get("checks", 0)))
    logger.info("compensation checked", extra={"state": progress.state})
    return progress.as_output()


@logger.inject_lambda_context(clear_state=True)
def mint_stablecoin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _forward(Step.MINT, event)


@logger.inject_lambda_context(clear_state=True)
def confirm_mint(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The mint its successors already followed into the open ledger, until it validated."""
    return _confirm(Step.MINT, event)


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

"""Task "Take income payout" of the withdrawal workflow: a coupon or repaid principal the
investor chose to have paid to their bank becomes a withdrawal of its amount, kept once under
the payment's own id; otherwise it stays in the wallet."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.errors import MalformedTaskInput
from domain.withdrawal import income_withdrawal
from lambdas.records import investors, withdrawals
from lambdas.tasks import IncomePaid, parse

logger = Logger(service="withdrawals")


@logger.inject_lambda_context(clear_state=True)
def take_income_payout(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(IncomePaid, event)
    investor_id = str(task.income.get("investor_id") or "")
    investor = investors.find(investor_id)
    if investor is None:
        raise MalformedTaskInput(f"{task.detail_type} for investor {investor_id!r}, not on record")
    try:
        wanted = income_withdrawal(
            task.income,
            task.detail_type,
            investor.status,
            investor.payout_account,
            withdrawals.income_payout_of(investor_id),
            datetime.now(UTC),
        )
    except (KeyError, ValueError) as error:
        raise MalformedTaskInput(f"{task.detail_type}: {error}") from None
    if wanted is None:
        return {"investor_id": investor_id, "state": "IN_WALLET"}
    kept = withdrawals.request(wanted, limit=None)
    logger.info("income to be paid out", extra={"withdrawal_id": kept.withdrawal_id})
    return {"investor_id": investor_id, "state": "KEPT", "withdrawal_id": kept.withdrawal_id}

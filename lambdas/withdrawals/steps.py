"""The withdrawal and settlement workflows' tasks (statemachines/withdrawal.asl.json and
settlement.asl.json).

A withdrawal: the stablecoin redeemed, then the payment provider asked to pay it out. The
provider's answer (its signed webhook) starts a settlement: paid out, or the amount issued to
the investor again. A refund's answer is recorded on its purchase. Handlers parse, call the
withdrawal service or the records, and answer what the next state reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.errors import BusinessRuleViolation, MalformedTaskInput
from domain.withdrawal import (
    PAYOUT_OUTCOMES,
    PayoutAction,
    notification,
    payout_action,
    payout_request,
    return_reason,
    stopped_before_payout,
)
from lambdas import platform_events
from lambdas.records import investors, notifications, purchases, withdrawals
from lambdas.tasks import ProviderAnswer, WithdrawalStep, parse

if TYPE_CHECKING:
    from lambdas.withdrawals.service import WithdrawalService

logger = Logger(service="withdrawals")
REFUND_OUTCOMES = {"RefundSucceeded": "SUCCEEDED", "RefundFailed": "FAILED"}


class PayoutConflict(BusinessRuleViolation):
    """The provider's answer contradicts the withdrawal as recorded: an operator decides."""


def _service() -> WithdrawalService:
    # xrpl-py, ~200 ms: loaded by the ledger steps only, not at import
    from lambdas.withdrawals.service import withdrawal_service

    return withdrawal_service()


@logger.inject_lambda_context(clear_state=True)
def redeem_stablecoin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(WithdrawalStep, event)
    logger.append_keys(withdrawal_id=task.withdrawal_id)
    answer = _service().redeem(task.withdrawal_id, task.checks)
    return {"withdrawal_id": task.withdrawal_id, **answer.as_output()}


@logger.inject_lambda_context(clear_state=True)
def request_payout(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The provider asked to pay the redeemed amount out, once; STOPPED if the investor was
    flagged meanwhile (the amount then goes back to the wallet)."""
    task = parse(WithdrawalStep, event)
    logger.append_keys(withdrawal_id=task.withdrawal_id)
    withdrawal = withdrawals.find(task.withdrawal_id)
    if withdrawal is None:
        raise MalformedTaskInput(f"no withdrawal {task.withdrawal_id}")
    if not withdrawal.payout_requested:
        stopped = stopped_before_payout(investors.status_of(withdrawal.investor_id))
        if stopped is not None:
            logger.warning("withdrawal stopped before its payout")
            return {"withdrawal_id": task.withdrawal_id, "state": "STOPPED", "reason": stopped}
        withdrawal = withdrawals.mark_payout_requested(task.withdrawal_id)
    if not withdrawals.payout_sent(task.withdrawal_id):
        event_id = platform_events.publish(
            "PayoutRequested", payout_request(withdrawal), source=platform_events.WITHDRAWALS_SOURCE
        )
        withdrawals.record_payout_sent(task.withdrawal_id, event_id)
        logger.info("payout requested", extra={"event_id": event_id})
    return {"withdrawal_id": task.withdrawal_id, "state": "REQUESTED", **_shown(withdrawal)}


@logger.inject_lambda_context(clear_state=True)
def put_back_in_wallet(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(WithdrawalStep, event)
    logger.append_keys(withdrawal_id=task.withdrawal_id)
    reason = task.reason or "the payout did not complete"
    answer = _service().put_back(task.withdrawal_id, reason, task.checks)
    return {"withdrawal_id": task.withdrawal_id, "reason": reason, **answer.as_output()}


@logger.inject_lambda_context(clear_state=True)
def record_payout_outcome(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The provider's word on a payout: what the settlement does with it (PayoutConflict when
    it contradicts the withdrawal as recorded)."""
    task = parse(ProviderAnswer, event)
    withdrawal_id = _field(task, "withdrawal_id")
    logger.append_keys(withdrawal_id=withdrawal_id, detail_type=task.detail_type)
    outcome = PAYOUT_OUTCOMES.get(task.detail_type)
    withdrawal = withdrawals.find(withdrawal_id)
    if outcome is None or withdrawal is None:
        raise MalformedTaskInput(f"{task.detail_type} for withdrawal {withdrawal_id}")
    action = payout_action(withdrawal, outcome)
    if action is PayoutAction.CONFLICT:
        raise PayoutConflict(
            f"{task.detail_type} (payout {task.outcome.get('payout_id')}) for withdrawal "
            f"{withdrawal_id}, which is {withdrawal.status} after {withdrawal.payout_outcome}"
        )
    if action is not PayoutAction.ALREADY:
        withdrawal = withdrawals.record_payout_outcome(withdrawal_id, outcome, _occurred_at(task))
    logger.info("payout outcome recorded", extra={"action": action})
    returned = action is PayoutAction.REISSUE
    reason = return_reason(outcome, task.outcome.get("reason")) if returned else None
    return {
        "withdrawal_id": withdrawal_id,
        "action": action.value,
        "status": withdrawal.status.value,
        "reason": reason,
    }


@logger.inject_lambda_context(clear_state=True)
def notify_withdrawal(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The frontend told of the withdrawal's status, once per withdrawal and status."""
    task = parse(WithdrawalStep, event)
    withdrawal = withdrawals.find(task.withdrawal_id)
    if withdrawal is None:
        raise MalformedTaskInput(f"no withdrawal {task.withdrawal_id}")
    kind, notification_id, payload = notification(withdrawal)
    sent = not notifications.already_sent(notification_id)
    if sent:
        event_id = platform_events.publish(kind, payload, source=platform_events.INVESTORS_SOURCE)
        notifications.record_sent(notification_id, kind, withdrawal.investor_id, event_id)
    return {"withdrawal_id": task.withdrawal_id, "notification": kind, "sent": sent}


@logger.inject_lambda_context(clear_state=True)
def record_refund_outcome(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The provider's word on a purchase's refund, on the purchase."""
    task = parse(ProviderAnswer, event)
    purchase_id = _field(task, "purchase_id")
    outcome = REFUND_OUTCOMES.get(task.detail_type)
    if outcome is None:
        raise MalformedTaskInput(f"{task.detail_type} is not a refund's outcome")
    purchase = purchases.record_refund_outcome(
        purchase_id, outcome, _field(task, "refund_id"), _occurred_at(task)
    )
    logger.info("refund outcome recorded", extra={"purchase_id": purchase_id, "outcome": outcome})
    return {
        "purchase_id": purchase_id,
        "refund_outcome": purchase.refund_outcome,
        "reason": task.outcome.get("reason"),
    }


def _occurred_at(task: ProviderAnswer) -> datetime:
    """When the provider says it happened (its settlement report's clock); now if unsaid."""
    stated = task.outcome.get("occurred_at")
    try:
        moment = datetime.fromisoformat(stated) if isinstance(stated, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        return datetime.now(UTC)
    return moment


def _field(task: ProviderAnswer, name: str) -> str:
    value = task.outcome.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedTaskInput(f"{task.detail_type}: {name} is missing")
    return value


def _shown(withdrawal: Any) -> dict[str, Any]:
    summary: dict[str, Any] = withdrawal.summary()
    return {k: summary[k] for k in ("amount", "status", "payout_account")}

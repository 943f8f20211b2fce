"""A withdrawal asked for by the frontend: refused at once with the reason, or kept, counted
against the day's limit and put on the bus for the withdrawal workflow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from domain.investor import Investor
from domain.withdrawal import (
    DAILY_LIMIT,
    Withdrawal,
    WithdrawalStatus,
    check_may_withdraw,
    withdrawal_id_for,
)
from lambdas import platform_events
from lambdas.records import withdrawals


def ask(
    investor: Investor, amount: Decimal, request_key: str | None, balance: Callable[[], Decimal]
) -> Withdrawal:
    """The withdrawal, kept and on its way (WithdrawalRefused saying why not). The same
    request key is the same withdrawal: asked again, it is answered as it stands, and put on
    the bus again while it waits (a first put that failed is not lost)."""
    withdrawal_id = withdrawal_id_for(investor.investor_id, request_key)
    withdrawal = withdrawals.find(withdrawal_id)
    if withdrawal is None:
        withdrawal = _kept(investor, withdrawal_id, amount, balance)
    if withdrawal.status is WithdrawalStatus.REQUESTED:
        platform_events.publish(
            "WithdrawalRequested",
            {"withdrawal_id": withdrawal.withdrawal_id, "investor_id": investor.investor_id},
            source=platform_events.FRONTEND_SOURCE,
        )
    return withdrawal


def _kept(
    investor: Investor, withdrawal_id: str, amount: Decimal, balance: Callable[[], Decimal]
) -> Withdrawal:
    now = datetime.now(UTC)
    ours = withdrawals.of_investor(investor.investor_id)
    being_redeemed = sum(
        (w.amount for w in ours if w.status is WithdrawalStatus.REQUESTED), Decimal(0)
    )
    check_may_withdraw(
        investor.status,
        investor.payout_account,
        amount,
        balance() - being_redeemed,
        withdrawals.withdrawn_on(investor.investor_id, now.date()),
    )
    asked = Withdrawal(
        withdrawal_id, investor.investor_id, amount, now, account=investor.payout_account
    )
    return withdrawals.request(asked, DAILY_LIMIT)

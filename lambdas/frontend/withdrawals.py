"""The frontend API's withdrawal routes: ask for one (refused at once with the reason, or
accepted and carried out by the withdrawal workflow) and list an investor's, with their status.
"""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from domain import portfolio
from domain.withdrawal import IncomePayout, WithdrawalRefused, requested_amount
from domain.withdrawal import Withdrawal as WithdrawalOnRecord
from domain.withdrawal import reason_shown_to_investor as withdrawal_reason_shown
from lambdas.frontend import lookups
from lambdas.frontend.models import (
    JSON,
    SECURED,
    UNKNOWN_INVESTOR,
    IncomePayoutChoice,
    IncomePayoutChosen,
    InvestorId,
    InvestorWithdrawals,
    Refusal,
    Withdrawal,
    WithdrawalAsked,
    answers,
    problem,
)
from lambdas.records import withdrawals as withdrawal_records
from lambdas.records.wallets import Wallet
from lambdas.withdrawals import requests as withdrawal_requests

logger = Logger(service="frontend-api")
router = APIGatewayHttpRouter()


@router.post(
    "/investors/<investor_id>/withdrawals",
    operation_id="requestWithdrawal",
    summary="Withdraw EUR from the wallet to the bank account verified at KYC",
    description=(
        "202: the withdrawal is kept and on its way; a notification follows at each status "
        "(WithdrawalAccepted, WithdrawalRedeemed, WithdrawalPaidOut, WithdrawalReturned, "
        "WithdrawalRefused). Send an Idempotency-Key header to make retries safe: the same key "
        "is the same withdrawal. The account is always the one on record, never one sent here."
    ),
    tags=["investors"],
    security=SECURED,
    responses={
        **answers({}, UNKNOWN_INVESTOR),
        202: {"description": "Withdrawal accepted", "content": {JSON: {"model": Withdrawal}}},
        422: problem("invalid_amount", "Not positive, or more than two decimals"),
        409: problem(
            "withdrawal_refused",
            "Not ACTIVE, no payout account, more than the wallet holds, or over today's limit",
        ),
    },
)
def request_withdrawal(investor_id: InvestorId, asked: WithdrawalAsked) -> Response[Withdrawal]:
    record, wallet = lookups.investor_and_wallet(investor_id)
    try:
        amount = requested_amount(asked.amount)
    except WithdrawalRefused as refused:
        raise Refusal(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_amount", str(refused)) from None
    request_key = router.current_event.headers.get("idempotency-key")
    try:
        withdrawal = withdrawal_requests.ask(
            record, amount, request_key, lambda: _stablecoin_of(wallet)
        )
    except WithdrawalRefused as refused:
        raise Refusal(HTTPStatus.CONFLICT, "withdrawal_refused", str(refused)) from None
    logger.info("withdrawal asked", extra={"withdrawal_id": withdrawal.withdrawal_id})
    return Response(HTTPStatus.ACCEPTED, JSON, _answer(withdrawal))


@router.get(
    "/investors/<investor_id>/withdrawals",
    operation_id="listWithdrawals",
    summary="The investor's withdrawals, newest first, with their status",
    tags=["investors"],
    security=SECURED,
    responses=answers({200: "The withdrawals"}, UNKNOWN_INVESTOR),
)
def list_withdrawals(investor_id: InvestorId) -> InvestorWithdrawals:
    lookups.investor_and_wallet(investor_id)
    return InvestorWithdrawals(
        investor_id=investor_id,
        income_payout=withdrawal_records.income_payout_of(investor_id),
        withdrawals=[_answer(w) for w in withdrawal_records.of_investor(investor_id)],
    )


def _answer(withdrawal: WithdrawalOnRecord) -> Withdrawal:
    summary = withdrawal.summary()
    summary["reason"] = withdrawal_reason_shown(withdrawal.reason)
    return Withdrawal.model_validate(summary)


def _stablecoin_of(wallet: Wallet | None) -> Decimal:
    """The wallet's EUR in the validated ledger (0 without a wallet or a line)."""
    if wallet is None:
        return Decimal(0)
    from lambdas.custody.platform_signer import platform_key  # see get_portfolio

    issuer = platform_key("issuer").address
    _, lines, _ = lookups.ledger().holdings(wallet.address, issuer)
    return portfolio.stablecoin_balance(lines, issuer)


@router.put(
    "/investors/<investor_id>/income-payout",
    operation_id="chooseIncomePayout",
    summary="Where the investor's coupons and repaid principal go: WALLET or BANK",
    description=(
        "BANK: each coupon or principal payment is paid out to the account verified at KYC "
        "as soon as it is paid (a withdrawal, notified like any other). WALLET (the default): "
        "it stays in the wallet."
    ),
    tags=["investors"],
    security=SECURED,
    responses=answers(
        {200: "The choice, as kept"},
        UNKNOWN_INVESTOR,
        {409: problem("no_payout_account", "BANK without a payout account verified at KYC")},
    ),
)
def choose_income_payout(investor_id: InvestorId, choice: IncomePayoutChoice) -> IncomePayoutChosen:
    record, _ = lookups.investor_and_wallet(investor_id)
    if choice.to is IncomePayout.BANK and record.payout_account is None:
        raise Refusal(
            HTTPStatus.CONFLICT,
            "no_payout_account",
            "no payout account was verified at KYC: income stays in the wallet",
        )
    chosen = withdrawal_records.choose_income_payout(investor_id, choice.to)
    return IncomePayoutChosen(investor_id=investor_id, income_payout=chosen)

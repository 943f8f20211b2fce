"""Task handlers of the onboarding workflow (statemachines/onboarding.asl.json).

Input of the workflow: {"event_id", "detail_type", "decision": {investor_id, case_id, ...}}.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.bank_account import BankAccount, parse_iban
from domain.compliance import decision_time
from domain.purchase import identifier
from lambdas.custody.wallet_generator import create_investor_wallet
from lambdas.records import investors, wallets
from lambdas.records.investors import InvestorNotEligible, KycOutcome
from lambdas.tasks import Decision, DecisionRecorded, InvestorAnswer, InvestorStep, answer, parse

logger = Logger(service="onboarding")


@logger.inject_lambda_context(clear_state=True)
def record_kyc_decision(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(Decision, event)
    investor_id = _identifier(task.decision, "investor_id")
    case_id = _identifier(task.decision, "case_id")
    logger.append_keys(investor_id=investor_id, case_id=case_id, detail_type=task.detail_type)
    outcome = _kyc_outcome(task, investor_id, case_id)
    logger.info("KYC decision recorded", extra={"applies": outcome.proceeds})
    return answer(
        DecisionRecorded(
            investor_id,
            case_id,
            task.detail_type,
            outcome.proceeds,
            outcome.status,
            outcome.reason,
        )
    )


def _kyc_outcome(task: Decision, investor_id: str, case_id: str) -> KycOutcome:
    if task.detail_type == "WalletRequested":
        return investors.wallet_request(investor_id)
    try:
        decided_at = decision_time(task.decision.get("occurred_at"))
    except ValueError as error:
        raise InvestorNotEligible(f"malformed KYC decision: {error}") from None
    return investors.record_kyc_decision(
        investor_id,
        case_id,
        decided_at,
        approved=task.detail_type != "KycRejected",
        reason=str(task.decision.get("reason") or "rejected by the KYC provider"),
        payout_account=_payout_account(task.decision.get("payout_account")),
    )


def _payout_account(given: object) -> BankAccount | None:
    """As the webhook door checked it; a decision without one leaves the account on record."""
    if not isinstance(given, dict):
        return None
    try:
        return BankAccount(parse_iban(given.get("iban")), str(given["holder_name"]))
    except (KeyError, ValueError) as error:
        raise InvestorNotEligible(f"malformed payout account: {error}") from None


@logger.inject_lambda_context(clear_state=True)
def create_wallet(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(InvestorStep, event)
    investors.require_kyc_approval(task.investor_id)  # a rejection may have come since
    wallet = create_investor_wallet(task.investor_id)
    logger.info("wallet ready", extra={"investor_id": task.investor_id})
    return answer(InvestorAnswer(task.investor_id, task.case_id, wallet_address=wallet.address))


@logger.inject_lambda_context(clear_state=True)
def fund_wallet(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from lambdas.ledger_services.investors import investor_holdings  # xrpl-py, ~200 ms

    task = parse(InvestorStep, event)
    investors.require_kyc_approval(task.investor_id)  # no XRP for a rejected one
    progress = investor_holdings().fund_wallet(task.investor_id, task.checks)
    return {**progress.as_output(), "case_id": task.case_id}


@logger.inject_lambda_context(clear_state=True)
def authorize_stablecoin_line(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from lambdas.ledger_services.investors import investor_holdings  # xrpl-py, ~200 ms

    task = parse(InvestorStep, event)
    progress = investor_holdings().authorize_stablecoin_line(task.investor_id, task.checks)
    return {**progress.as_output(), "case_id": task.case_id}


@logger.inject_lambda_context(clear_state=True)
def activate_investor(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(InvestorStep, event)
    investor = investors.activate(task.investor_id)
    wallet = wallets.find(task.investor_id)
    address = wallet.address if wallet else None
    return answer(InvestorAnswer(investor.investor_id, task.case_id, investor.status, address))


def _identifier(decision: dict[str, Any], name: str) -> str:
    try:
        return identifier(name, decision.get(name))
    except ValueError as error:
        raise InvestorNotEligible(f"malformed KYC decision: {error}") from None

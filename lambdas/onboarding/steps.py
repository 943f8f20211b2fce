"""Task handlers of the onboarding workflow (statemachines/onboarding.asl.json).

Input of the workflow: {"event_id", "detail_type", "decision": {investor_id, case_id, ...}}.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.compliance import decision_time
from domain.purchase import identifier
from lambdas import investor_records
from lambdas.custody.wallet_generator import create_investor_wallet, find_wallet
from lambdas.investor_records import InvestorNotEligible

logger = Logger(service="onboarding")


@logger.inject_lambda_context(clear_state=True)
def record_kyc_decision(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    decision = event.get("decision") or {}
    investor_id = _identifier(decision, "investor_id")
    case_id = _identifier(decision, "case_id")
    detail_type = str(event.get("detail_type"))
    logger.append_keys(investor_id=investor_id, case_id=case_id, detail_type=detail_type)
    if detail_type == "WalletRequested":
        outcome = investor_records.wallet_request(investor_id)
    else:
        rejected = detail_type == "KycRejected"
        outcome = investor_records.record_kyc_decision(
            investor_id,
            case_id,
            _decided_at(decision),
            approved=not rejected,
            reason=str(decision.get("reason") or "rejected by the KYC provider"),
        )
    logger.info("KYC decision recorded", extra={"applies": outcome.proceeds})
    return {
        "investor_id": investor_id,
        "case_id": case_id,
        "detail_type": detail_type,
        "applies": outcome.proceeds,
        "status": outcome.status,
        "reason": outcome.reason,
    }


@logger.inject_lambda_context(clear_state=True)
def create_wallet(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    investor_records.require_kyc_approval(event["investor_id"])  # a rejection may have come since
    wallet = create_investor_wallet(event["investor_id"])
    logger.info("wallet ready", extra={"investor_id": event["investor_id"]})
    return {
        "investor_id": event["investor_id"],
        "case_id": event["case_id"],
        "wallet_address": wallet.address,
    }


@logger.inject_lambda_context(clear_state=True)
def fund_wallet(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from lambdas.investor_ledger import investor_ledger  # xrpl-py, ~200 ms: only where used

    investor_records.require_kyc_approval(event["investor_id"])  # no XRP for a rejected one
    progress = investor_ledger().fund_wallet(event["investor_id"], int(event.get("checks", 0)))
    return {**progress, "case_id": event["case_id"]}


@logger.inject_lambda_context(clear_state=True)
def authorize_stablecoin_line(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from lambdas.investor_ledger import investor_ledger  # xrpl-py, ~200 ms: only where used

    progress = investor_ledger().authorize_stablecoin_line(
        event["investor_id"], int(event.get("checks", 0))
    )
    return {**progress, "case_id": event["case_id"]}


@logger.inject_lambda_context(clear_state=True)
def activate_investor(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    record = investor_records.activate(event["investor_id"])
    wallet = find_wallet(event["investor_id"])
    return {
        "investor_id": record.investor_id,
        "case_id": event["case_id"],
        "status": record.status,
        "wallet_address": wallet.address if wallet else None,
    }


def _identifier(decision: dict[str, Any], name: str) -> str:
    try:
        return identifier(name, decision.get(name))
    except ValueError as error:
        raise InvestorNotEligible(f"malformed KYC decision: {error}") from None


def _decided_at(decision: dict[str, Any]) -> datetime:
    try:
        return decision_time(decision.get("occurred_at"))
    except ValueError as error:
        raise InvestorNotEligible(f"malformed KYC decision: {error}") from None

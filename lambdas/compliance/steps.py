"""Task handlers of the compliance workflow (statemachines/compliance.asl.json).

Input of the workflow: {"event_id", "detail_type", "decision": {investor_id, case_id,
occurred_at, reason}} from AmlFlagged / AmlCleared, the provider's or an operator's
(drexfy-ops); the ordering rules are domain.compliance's.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.compliance import case_keys, decided_by_operator, decision_keys, decision_time
from domain.purchase import identifier
from lambdas import investor_records
from lambdas.investor_records import InvestorNotEligible

logger = Logger(service="compliance")


@logger.inject_lambda_context(clear_state=True)
def record_aml_decision(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    decision = event.get("decision") or {}
    try:
        investor_id = identifier("investor_id", decision.get("investor_id"))
        case_id = identifier("case_id", decision.get("case_id"))
        decided_at = decision_time(decision.get("occurred_at"))
    except ValueError as error:
        raise InvestorNotEligible(f"malformed AML decision: {error}") from None
    flagged = event.get("detail_type") == "AmlFlagged"
    by_operator = decided_by_operator(event.get("source"))
    logger.append_keys(
        investor_id=investor_id, case_id=case_id, flagged=flagged, by_operator=by_operator
    )
    reason = str(decision.get("reason") or ("flagged" if flagged else "cleared"))
    applies = investor_records.record_aml_decision(
        investor_id, flagged, case_id, decided_at, reason, by_operator=by_operator
    )
    record = investor_records.find(investor_id)
    logger.info("AML decision recorded", extra={"applies": applies})
    return {
        "investor_id": investor_id,
        "case_id": case_id,
        "decision": decision_keys(investor_id, case_id, decided_at),  # its ledger keys' prefix
        "detail_type": event.get("detail_type"),
        "applies": applies,
        "status": record.status if record else None,
        "reason": reason,
    }


@logger.inject_lambda_context(clear_state=True)
def freeze_holdings(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _set_freeze(event, freeze=True)


@logger.inject_lambda_context(clear_state=True)
def unfreeze_holdings(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _set_freeze(event, freeze=False)


def _set_freeze(event: dict[str, Any], freeze: bool) -> dict[str, Any]:
    from lambdas.investor_ledger import DONE, investor_ledger  # xrpl-py, ~200 ms: only where used

    investor_id, case_id, decision = event["investor_id"], event["case_id"], event["decision"]
    ledger = investor_ledger()
    progress = ledger.set_freeze(investor_id, decision, freeze, int(event.get("checks", 0)))
    progress.update(case_id=case_id, decision=decision)
    if progress["state"] == DONE and freeze:
        transactions = ledger.transactions_of(decision)
        investor_records.audit(
            investor_id, "ledger freeze in place", "compliance", "AML flag", case_id, transactions
        )
        progress["transactions"] = transactions
    return progress


@logger.inject_lambda_context(clear_state=True)
def reinstate_investor(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from lambdas.investor_ledger import investor_ledger  # xrpl-py, ~200 ms: only where used

    investor_id, case_id = event["investor_id"], event["case_id"]
    transactions = investor_ledger().transactions_of(case_keys(investor_id, case_id))
    record = investor_records.reinstate(investor_id, case_id, transactions)
    return {
        "investor_id": investor_id,
        "case_id": case_id,
        "decision": event.get("decision"),
        "status": record.status,
        "transactions": transactions,
    }

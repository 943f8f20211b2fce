"""Task handlers of the compliance workflow (statemachines/compliance.asl.json).

Input of the workflow: {"event_id", "detail_type", "decision": {investor_id, case_id,
occurred_at, reason}} from AmlFlagged / AmlCleared, the provider's or an operator's
(drexfy-ops); the ordering rules are domain.compliance's.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain import business_keys
from domain.compliance import decided_by_operator, decision_time
from domain.errors import MalformedTaskInput
from domain.purchase import identifier
from domain.settlement import StepState
from lambdas.records import investors, submissions
from lambdas.records.investors import InvestorNotEligible
from lambdas.tasks import (
    Decision,
    DecisionRecorded,
    InvestorAnswer,
    InvestorStep,
    answer,
    parse,
)

logger = Logger(service="compliance")


@logger.inject_lambda_context(clear_state=True)
def record_aml_decision(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(Decision, event)
    try:
        investor_id = identifier("investor_id", task.decision.get("investor_id"))
        case_id = identifier("case_id", task.decision.get("case_id"))
        decided_at = decision_time(task.decision.get("occurred_at"))
    except ValueError as error:
        raise InvestorNotEligible(f"malformed AML decision: {error}") from None
    flagged = task.detail_type == "AmlFlagged"
    by_operator = decided_by_operator(task.source)
    logger.append_keys(
        investor_id=investor_id, case_id=case_id, flagged=flagged, by_operator=by_operator
    )
    reason = str(task.decision.get("reason") or ("flagged" if flagged else "cleared"))
    operator = task.decision.get("operator") if by_operator else None
    applies = investors.record_aml_decision(
        investor_id, flagged, case_id, decided_at, reason, by_operator=by_operator,
        operator=str(operator)[:200] if operator else None,
    )  # fmt: skip
    logger.info("AML decision recorded", extra={"applies": applies})
    keys = business_keys.aml_decision(investor_id, case_id, decided_at)
    status = investors.status_of(investor_id)
    recorded = DecisionRecorded(
        investor_id, case_id, task.detail_type, applies, status, reason, decision=keys
    )
    return answer(recorded)


@logger.inject_lambda_context(clear_state=True)
def freeze_holdings(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _set_freeze(parse(InvestorStep, event), freeze=True)


@logger.inject_lambda_context(clear_state=True)
def unfreeze_holdings(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _set_freeze(parse(InvestorStep, event), freeze=False)


def _set_freeze(task: InvestorStep, freeze: bool) -> dict[str, Any]:
    from lambdas.ledger_services.investors import investor_holdings  # xrpl-py, ~200 ms

    decision = _decision_keys(task)
    holdings = investor_holdings()
    progress = holdings.set_freeze(task.investor_id, decision, freeze, task.checks)
    output = {**progress.as_output(), "case_id": task.case_id, "decision": decision}
    if progress.state == StepState.DONE and freeze:
        transactions = submissions.validated_under(decision)
        investors.audit(
            task.investor_id,
            "ledger freeze in place",
            "compliance",
            "AML flag",
            task.case_id,
            transactions,
        )
        output["transactions"] = transactions
    return output


@logger.inject_lambda_context(clear_state=True)
def reinstate_investor(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(InvestorStep, event)
    case = business_keys.aml_case(task.investor_id, task.case_id)
    transactions = submissions.validated_under(case)  # settled by the freeze steps
    investor = investors.reinstate(task.investor_id, task.case_id, transactions)
    return answer(
        InvestorAnswer(
            task.investor_id,
            task.case_id,
            investor.status,
            decision=task.decision,
            transactions=transactions,
        )
    )


def _decision_keys(task: InvestorStep) -> str:
    if task.decision is None:
        raise MalformedTaskInput("InvestorStep: decision is missing (a freeze names its decision)")
    return task.decision

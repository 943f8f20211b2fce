"""The books' workflows' tasks. The reconciliation: read the three sides for the cut-off, compare
them, keep the report, and answer its summary (the Choice reads `clean`; the console shows the
rest). The statements: which are due, and each one made and kept as documents."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.errors import MalformedTaskInput
from domain.reconciliation import cut_off_of, reconcile
from domain.statement import Period, PeriodRefused, periods_asked
from lambdas.records import reconciliations, wallets
from lambdas.tasks import ReconciliationRequest, StatementOrder, StatementsRequest, parse

logger = Logger(service="books")


@logger.inject_lambda_context(clear_state=True)
def reconcile_books(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(ReconciliationRequest, event)
    logger.append_keys(reconciliation_id=task.reconciliation_id)
    try:
        cut_off = cut_off_of(task.request, datetime.now(UTC))
    except ValueError as error:
        raise MalformedTaskInput(f"ReconciliationRequest: {error}") from None
    kept = reconciliations.find(task.reconciliation_id) or _reconciled(task, cut_off)
    summary = {
        "reconciliation_id": kept.reconciliation_id,
        "cut_off": kept.cut_off.isoformat(),
        **kept.report,
        "first_differences": kept.report["first_differences"][:10],
    }
    logger.info("books reconciled", extra={k: summary[k] for k in ("clean", "differences")})
    return summary


def _reconciled(task: ReconciliationRequest, cut_off: datetime) -> reconciliations.KeptReport:
    # xrpl-py and the custody module load on first use, not at import
    from lambdas.books import sides
    from lambdas.custody.platform_signer import platform_accounts

    ledger, accounts = sides.ledger_quorum(), platform_accounts()
    # Now's books are the latest validated ledger's; a past cut-off's, the last closed by then.
    asked = task.request.get("cut_off") or task.request.get("scheduled_at")
    index = sides.ledger_for(cut_off, ledger) if asked else ledger.validated_ledger_index()
    records = sides.records_side(accounts, index, cut_off)
    on_ledger = sides.ledger_side(ledger, accounts, index, records.units.keys())
    provider = sides.provider_settled(cut_off)
    return reconciliations.keep(
        task.reconciliation_id, cut_off, reconcile(on_ledger, records, provider)
    )


INVESTORS_PER_PAGE = 100  # a page's orders stay well inside a state's 256 KB


@logger.inject_lambda_context(clear_state=True)
def statements_due(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The statements a run makes: one order per investor and period, a page of investors at
    a time (`after`: where the next page starts, None when this is the last)."""
    task = parse(StatementsRequest, event)
    try:
        periods = periods_asked(task.request, datetime.now(UTC))
    except PeriodRefused as refused:
        raise MalformedTaskInput(f"StatementsRequest: {refused}") from None
    asked = task.request.get("investor_id")
    if asked is not None:
        investor_ids, after = [str(asked)], None
    else:
        investor_ids, after = wallets.investors_with_wallets(task.after, INVESTORS_PER_PAGE)
    orders = [{"investor_id": i, "period": p.name} for i in investor_ids for p in periods]
    logger.info("statements due", extra={"orders": len(orders), "more": after is not None})
    return {"orders": orders, "after": after, "periods": [p.name for p in periods]}


@logger.inject_lambda_context(clear_state=True)
def make_statement_documents(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One investor's statement for an ended period, kept as CSV and PDF; whether it ties."""
    from lambdas.books import documents, sides, statements
    from lambdas.custody.platform_signer import platform_accounts

    order = parse(StatementOrder, event)
    logger.append_keys(investor_id=order.investor_id, period=order.period)
    try:
        period = Period.parse(order.period)
        made = statements.statement_of(
            order.investor_id, period, sides.ledger_quorum(), platform_accounts()
        )
    except (PeriodRefused, statements.NoWallet) as refused:
        raise MalformedTaskInput(f"StatementOrder: {refused}") from None
    keys = documents.keep(made)
    untied = made.untied()
    if untied:
        logger.warning("statement does not tie", extra={"untied": untied})
    return {**asdict(order), "documents": keys, "ties_to_the_ledger": not untied}

"""The reconciliation workflow's task: read the three sides for the cut-off, compare them, keep
the report, and answer its summary (the Choice reads `clean`; the console shows the rest)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.errors import MalformedTaskInput
from domain.reconciliation import cut_off_of, reconcile
from lambdas.records import reconciliations
from lambdas.tasks import ReconciliationRequest, parse

logger = Logger(service="reconciliation")


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

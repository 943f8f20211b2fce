"""Each reconciliation's report, as it was made: never changed, never deleted. Operators list
and read them (drexfy-ops reconciliation); the workflow's output shows the summary."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, ScanError

from domain.reconciliation import Reconciliation
from lambdas.aws_clients import dynamodb_fault
from lambdas.records.tables import ReconciliationRecord

# DynamoDB keeps 400 KB an item: a report past this many differences keeps the first ones,
# and says how many there were.
MOST_DIFFERENCES_KEPT = 500


@dataclass(frozen=True)
class KeptReport:
    reconciliation_id: str
    cut_off: datetime
    ledger_index: int
    clean: bool
    differences: int
    report: dict[str, Any]
    made_at: datetime


def keep(reconciliation_id: str, cut_off: datetime, books: Reconciliation) -> KeptReport:
    """The report, once under its id (a retried step finds it kept and keeps it as it was)."""
    report = books.summary(shown=MOST_DIFFERENCES_KEPT)
    record = ReconciliationRecord(
        reconciliation_id,
        cut_off=cut_off,
        ledger_index=books.ledger_index,
        clean=books.clean,
        differences=len(books.differences),
        report=json.dumps(report, sort_keys=True),
    )
    try:
        record.save(condition=ReconciliationRecord.reconciliation_id.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise dynamodb_fault("reconciliations", error) from error
        kept = find(reconciliation_id)
        assert kept is not None
        return kept
    return _kept(record)


def find(reconciliation_id: str) -> KeptReport | None:
    try:
        return _kept(ReconciliationRecord.get(reconciliation_id, consistent_read=True))
    except ReconciliationRecord.DoesNotExist:
        return None


def every() -> list[KeptReport]:
    """Every report, newest cut-off first (a scan: one a day)."""
    try:
        found = [_kept(r) for r in ReconciliationRecord.scan(consistent_read=True)]
    except ScanError as error:
        raise dynamodb_fault("reconciliations", error) from error
    return sorted(found, key=lambda k: (k.cut_off, k.reconciliation_id), reverse=True)


def _kept(record: ReconciliationRecord) -> KeptReport:
    return KeptReport(
        record.reconciliation_id,
        record.cut_off,
        int(record.ledger_index),
        bool(record.clean),
        int(record.differences),
        json.loads(record.report),
        record.made_at,
    )

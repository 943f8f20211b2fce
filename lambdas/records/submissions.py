"""Signed ledger transactions, each kept under the business key it serves (e.g.
`purchase-…#mint`) before its first submit: the key makes every ledger effect happen at most
once, and the kept blob is what any run submits again after a crash.

Every change here is conditional on what the caller read (still unsigned, still this hash), so
two runs of one step never both sign, and a settled outcome is never written over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pynamodb.exceptions import PutError, ScanError, UpdateError
from pynamodb.expressions.update import Action

from domain import business_keys
from lambdas.aws_clients import dynamodb_fault
from lambdas.records.tables import SubmissionRecord


class Status(StrEnum):
    PREPARING = "PREPARING"  # Sequence/Ticket reserved, not signed yet
    SUBMITTED = "SUBMITTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Submission:
    business_key: str
    account: str
    transaction_type: str
    unsigned_json: str  # with Sequence/TicketSequence: re-signing keeps them
    sequence: int
    ticket_sequence: int | None
    status: Status
    last_ledger_sequence: int = 0
    prepared_at_ledger: int = 0  # lookups by hash start here
    tx_blob: str | None = None  # None only while PREPARING
    tx_hash: str | None = None
    preliminary_result: str | None = None
    result: str | None = None
    ledger_index: int | None = None
    meta_json: str | None = None
    attempts: int = 1
    expired_hashes: tuple[str, ...] = ()

    @property
    def in_flight(self) -> bool:
        """Not decided yet: reserved, or signed and waiting for the validated ledger."""
        return self.status in (Status.PREPARING, Status.SUBMITTED)

    @property
    def unsigned(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.unsigned_json)
        return loaded

    @property
    def meta(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.meta_json or "{}")
        return loaded

    def details(self) -> dict[str, Any]:
        """What a step shows of its transaction: hash, validated ledger, result."""
        return {"hash": self.tx_hash, "ledger_index": self.ledger_index, "result": self.result}


def find(business_key: str) -> Submission | None:
    try:
        return submission_of(SubmissionRecord.get(business_key, consistent_read=True))
    except SubmissionRecord.DoesNotExist:
        return None


def get(business_key: str) -> Submission:
    found = find(business_key)
    if found is None:
        raise KeyError(f"no submission for {business_key}")
    return found


def under(prefix: str) -> list[Submission]:
    """The submissions whose business key starts with prefix, in key order."""
    query = SubmissionRecord.by_subject.query(
        business_keys.subject_of(prefix), SubmissionRecord.business_key.startswith(prefix)
    )
    return [submission_of(r) for r in query]


def in_flight_under(prefix: str) -> int:
    """How many submissions under prefix are not decided yet: counted by DynamoDB (Select COUNT),
    so a watcher sampling it often sends no records back."""
    undecided = SubmissionRecord.status.is_in(Status.PREPARING.value, Status.SUBMITTED.value)
    return SubmissionRecord.by_subject.count(
        business_keys.subject_of(prefix),
        SubmissionRecord.business_key.startswith(prefix),
        filter_condition=undecided,
    )


def every_starting_with(prefix: str) -> list[Submission]:
    """The submissions whose key starts with prefix across subjects (a scan: for a daily
    report, never for a step)."""
    try:
        scan = SubmissionRecord.scan(
            SubmissionRecord.business_key.startswith(prefix), consistent_read=True
        )
        return [submission_of(r) for r in scan]
    except ScanError as error:
        raise dynamodb_fault("submissions", error) from error


def validated_under(prefix: str) -> dict[str, dict[str, Any]]:
    """The transactions under a business-key prefix that validated (as the records state it),
    each named by the rest of its key: what an audit record keeps of a decision's effects."""
    return {
        s.business_key.removeprefix(prefix).lstrip("#"): s.details()
        for s in under(prefix)
        if s.status == Status.SUCCEEDED
    }


def cancel_unsubmitted(business_key: str, reason: str) -> Submission:
    """Take the key with a FAILED record if nothing was reserved under it yet, so no later run
    can submit it; a record that exists already stands and is returned."""
    record = SubmissionRecord(
        business_key,
        subject=business_keys.subject_of(business_key),
        account="",
        transaction_type="",
        unsigned_json="{}",
        sequence=0,
        last_ledger_sequence=0,
        prepared_at_ledger=0,
        status=Status.FAILED.value,
        result=f"never submitted: {reason}",
    )
    try:
        record.save(condition=SubmissionRecord.business_key.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise dynamodb_fault(f"submission {business_key}", error) from error
        return get(business_key)
    return submission_of(record)


def preparing(business_key: str, tx: dict[str, Any], validated_index: int) -> SubmissionRecord:
    """The record of a transaction whose Sequence (or Ticket) is being reserved with it
    (lambdas/records/reservations.py writes both in one transaction)."""
    return SubmissionRecord(
        business_key,
        subject=business_keys.subject_of(business_key),
        account=str(tx["Account"]),
        transaction_type=str(tx["TransactionType"]),
        unsigned_json=json.dumps(tx, sort_keys=True),
        sequence=int(tx["Sequence"]),
        ticket_sequence=tx.get("TicketSequence"),
        last_ledger_sequence=0,
        prepared_at_ledger=validated_index,
        status=Status.PREPARING.value,
    )


def signed(
    submission: Submission, blob: str, tx_hash: str, last_ledger: int, validated_index: int
) -> Submission:
    """The blob is kept before anything submits it; if another run signed first, its blob is
    the one that stands (returned)."""
    return _change(
        submission,
        [
            SubmissionRecord.tx_blob.set(blob),
            SubmissionRecord.tx_hash.set(tx_hash),
            SubmissionRecord.last_ledger_sequence.set(last_ledger),
            SubmissionRecord.prepared_at_ledger.set(validated_index),
            SubmissionRecord.status.set(Status.SUBMITTED.value),
        ],
        SubmissionRecord.status == Status.PREPARING.value,
    )


def resigned(
    submission: Submission,
    tx: dict[str, Any],
    blob: str,
    tx_hash: str,
    last_ledger: int,
    validated_index: int,
) -> Submission:
    """The expired blob replaced by a new signature of the same transaction (its hash kept
    among the expired ones); if another run replaced it first, theirs stands (returned)."""
    return _change(
        submission,
        [
            SubmissionRecord.expired_hashes.set(
                [*submission.expired_hashes, str(submission.tx_hash)]  # type: ignore[list-item]
            ),
            SubmissionRecord.unsigned_json.set(json.dumps(tx, sort_keys=True)),
            SubmissionRecord.sequence.set(int(tx["Sequence"])),
            SubmissionRecord.tx_blob.set(blob),
            SubmissionRecord.tx_hash.set(tx_hash),
            SubmissionRecord.last_ledger_sequence.set(last_ledger),
            SubmissionRecord.prepared_at_ledger.set(validated_index),
            SubmissionRecord.attempts.add(1),
            SubmissionRecord.preliminary_result.remove(),
        ],
        SubmissionRecord.tx_hash == submission.tx_hash,
    )


def sent(submission: Submission, preliminary_result: str) -> Submission:
    return _change(submission, [SubmissionRecord.preliminary_result.set(preliminary_result)])


def settled(submission: Submission, succeeded: bool, found: dict[str, Any]) -> Submission:
    """Final, from the validated ledger's copy of the transaction."""
    meta = found.get("meta", {})
    status = Status.SUCCEEDED if succeeded else Status.FAILED
    return _change(
        submission,
        [
            SubmissionRecord.status.set(status.value),
            SubmissionRecord.result.set(str(meta.get("TransactionResult"))),
            SubmissionRecord.ledger_index.set(int(found["ledger_index"])),
            SubmissionRecord.meta_json.set(json.dumps(meta)),
        ],
    )


def never_applied(submission: Submission, reason: str) -> Submission:
    """FAILED: its blob provably can no longer apply, and it will not be signed again."""
    return _change(
        submission,
        [SubmissionRecord.status.set(Status.FAILED.value), SubmissionRecord.result.set(reason)],
        SubmissionRecord.tx_hash == submission.tx_hash,
    )


def _change(submission: Submission, actions: list[Action], condition: Any = None) -> Submission:
    """The submission as written, or as another run left it if `condition` no longer held."""
    record = SubmissionRecord(submission.business_key)
    try:
        record.update(
            actions=[*actions, SubmissionRecord.updated_at.set(datetime.now(UTC))],
            condition=condition,
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise dynamodb_fault(f"submission {submission.business_key}", error) from error
        return get(submission.business_key)
    return submission_of(record)  # update() read back every attribute


def submission_of(record: SubmissionRecord) -> Submission:
    return Submission(
        business_key=record.business_key,
        account=record.account,
        transaction_type=record.transaction_type,
        unsigned_json=record.unsigned_json,
        sequence=int(record.sequence),
        ticket_sequence=int(record.ticket_sequence) if record.ticket_sequence is not None else None,
        status=Status(record.status),
        last_ledger_sequence=int(record.last_ledger_sequence or 0),
        prepared_at_ledger=int(record.prepared_at_ledger or 0),
        tx_blob=record.tx_blob,
        tx_hash=record.tx_hash,
        preliminary_result=record.preliminary_result,
        result=record.result,
        ledger_index=int(record.ledger_index) if record.ledger_index else None,
        meta_json=record.meta_json,
        attempts=int(record.attempts or 1),
        expired_hashes=tuple(str(h) for h in record.expired_hashes or ()),
    )

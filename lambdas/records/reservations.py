"""Reserving a Sequence or a Ticket together with the submission record that will use it.

One DynamoDB transaction takes the Sequence (or claims the Ticket) and writes the record, so a
crash can never leave a Sequence taken by nobody (a gap that would stall the account) or a
business key with two Sequences.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model

from domain.errors import TransientFault
from lambdas.aws_clients import dynamodb_fault
from lambdas.records import submissions
from lambdas.records.sequences import AVAILABLE, CLAIMED, AccountSequence
from lambdas.records.submissions import Status, Submission
from lambdas.records.tables import (
    AccountSequenceRecord,
    SubmissionRecord,
    TicketRecord,
    transaction,
)


class AlreadyReserved(Exception):
    """The business key has its record already (an earlier or concurrent run)."""


class PoolEmpty(TransientFault):
    """No ticket is available for the hot account right now."""


def reserve_sequence(
    counter: Callable[[str], AccountSequence],
    business_key: str,
    tx: dict[str, Any],
    validated_index: int,
    attempts: int = 30,
) -> Submission:
    """Optimistic: read the counter, then move it and write the record only if it did not move.
    Contention is per account, so rare (an investor with several purchases at the same moment);
    a few milliseconds of jitter between tries spreads it."""
    account = str(tx["Account"])
    for attempt in range(attempts):
        if attempt:
            time.sleep(random.uniform(0, 0.005 * attempt))
        state = counter(account)
        action: Any
        condition: Any
        if state.released:  # a Sequence given back fills the gap before the counter moves on
            sequence = min(state.released)
            action = AccountSequenceRecord.released.delete({sequence})
            condition = AccountSequenceRecord.released.contains(sequence)
        else:
            sequence = int(state.next_sequence)
            action = AccountSequenceRecord.next_sequence.set(sequence + 1)
            condition = AccountSequenceRecord.next_sequence == sequence
        record = submissions.preparing(business_key, {**tx, "Sequence": sequence}, validated_index)
        if _write_with(AccountSequenceRecord(account), [action], condition, record):
            return submissions.submission_of(record)
    raise TransientFault(f"Sequence of {account} is contended; retry")


def reserve_ticket(
    available: Callable[[str], list[int]],
    business_key: str,
    tx: dict[str, Any],
    validated_index: int,
    pick: Callable[[list[int]], int] = random.choice,
    attempts: int = 12,
) -> Submission:
    account = str(tx["Account"])
    for _ in range(attempts):
        free = available(account)
        if not free:
            raise PoolEmpty(f"no ticket available for {account}; a refill is under way")
        ticket = pick(free)
        ticketed = {**tx, "Sequence": 0, "TicketSequence": ticket}
        record = submissions.preparing(business_key, ticketed, validated_index)
        claimed = _write_with(
            TicketRecord(account, ticket),
            [
                TicketRecord.status.set(CLAIMED),
                TicketRecord.claimed_by.set(business_key),
                TicketRecord.available_in.remove(),
            ],
            TicketRecord.status == AVAILABLE,
            record,
        )
        if claimed:
            return submissions.submission_of(record)
    raise TransientFault(f"ticket pool of {account} is contended; retry")


def release(submission: Submission, reason: str) -> Submission:
    """End a transaction that never applied and never will (cancelled unsigned, or proven
    expired) as FAILED with the reason, and give its Ticket or Sequence back in the same write,
    so the account neither loses a Ticket nor stalls on a gap. If it was signed or settled
    meanwhile (it is no longer as read), that stands: the submission as it is is returned."""
    ending = [
        SubmissionRecord.status.set(Status.FAILED.value),
        SubmissionRecord.result.set(reason),
    ]
    unchanged = (
        SubmissionRecord.status == Status.PREPARING.value
        if submission.status == Status.PREPARING
        else SubmissionRecord.tx_hash == submission.tx_hash
    )
    _release(submission, ending, unchanged)
    return submissions.get(submission.business_key)


def _release(record: Submission, ending: list[Any], unchanged: Any) -> bool:
    account = str(record.account)
    actions: list[Any]
    condition: Any
    if record.ticket_sequence is not None:
        item: Model = TicketRecord(account, int(record.ticket_sequence))
        actions = [
            TicketRecord.status.set(AVAILABLE),
            TicketRecord.available_in.set(account),
            TicketRecord.claimed_by.remove(),
        ]
        condition = TicketRecord.claimed_by == record.business_key
    else:
        item = AccountSequenceRecord(account)
        actions = [AccountSequenceRecord.released.add({int(record.sequence)})]
        condition = AccountSequenceRecord.account.exists()
    try:
        with transaction() as writes:
            writes.update(
                SubmissionRecord(record.business_key), actions=ending, condition=unchanged
            )
            writes.update(item, actions=actions, condition=condition)
        return True
    except TransactWriteError as error:
        if _failed(error.cancellation_reasons, 0):
            return False
        raise dynamodb_fault(f"release of {record.business_key}", error) from error


def _write_with(item: Model, actions: list[Any], condition: Any, record: SubmissionRecord) -> bool:
    """Update item and create record atomically; False if item's condition no longer held."""
    try:
        with transaction() as writes:
            writes.update(item, actions=actions, condition=condition)
            writes.save(record, condition=SubmissionRecord.business_key.does_not_exist())
        return True
    except TransactWriteError as error:
        # pynamodb sends puts before updates: reason 0 is the record, reason 1 the item.
        reasons = error.cancellation_reasons
        if _failed(reasons, 0):
            raise AlreadyReserved(record.business_key) from None
        if _failed(reasons, 1):
            return False
        raise dynamodb_fault(f"reservation for {record.business_key}", error) from error


def _failed(reasons: list[Any], index: int) -> bool:
    return (
        len(reasons) > index
        and reasons[index] is not None
        and (reasons[index].code == "ConditionalCheckFailed")
    )

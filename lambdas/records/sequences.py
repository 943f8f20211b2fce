"""Where a transaction's Sequence comes from, as kept: each investor account's next Sequence
(with the Sequences given back), and the XRPL Tickets of each hot platform account."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import PutError, QueryError, UpdateError

from lambdas.aws_clients import dynamodb_fault
from lambdas.records.tables import AccountSequenceRecord, TicketRecord

AVAILABLE, CLAIMED = "AVAILABLE", "CLAIMED"


@dataclass(frozen=True)
class AccountSequence:
    account: str
    next_sequence: int
    # Sequences handed back by transactions cancelled unsigned or proven expired while their
    # step was undone: the account's next transactions take them first, so no gap stalls it.
    released: frozenset[int] = frozenset()
    pending_refill: str | None = None  # business key of a TicketCreate in flight


def _conditional(error: PutError | UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def find(account: str) -> AccountSequence | None:
    try:
        record = AccountSequenceRecord.get(account, consistent_read=True)
    except AccountSequenceRecord.DoesNotExist:
        return None
    return AccountSequence(
        account,
        int(record.next_sequence),
        frozenset(int(s) for s in record.released or ()),
        record.pending_refill,
    )


def start_counting(account: str, next_sequence: int) -> None:
    """The counter, from the ledger's Sequence, unless another run started it first."""
    try:
        AccountSequenceRecord(account, next_sequence=next_sequence).save(
            condition=AccountSequenceRecord.account.does_not_exist()
        )
    except PutError as error:
        if not _conditional(error):
            raise dynamodb_fault(f"sequence counter of {account}", error) from error


def take_next(account: str) -> int | None:
    """The next Sequence, handed out once; None if the account has no counter yet."""
    record = AccountSequenceRecord(account)
    try:
        record.update(
            actions=[AccountSequenceRecord.next_sequence.add(1)],
            condition=AccountSequenceRecord.account.exists(),
        )
    except UpdateError as error:
        if not _conditional(error):
            raise dynamodb_fault(f"sequence counter of {account}", error) from error
        return None
    return int(record.next_sequence) - 1


def catch_up(account: str, ledger_sequence: int) -> None:
    """Move the counter up to the ledger's Sequence (something else used the account)."""
    try:
        AccountSequenceRecord(account).update(
            actions=[AccountSequenceRecord.next_sequence.set(ledger_sequence)],
            condition=AccountSequenceRecord.next_sequence < ledger_sequence,
        )
    except UpdateError as error:
        if not _conditional(error):
            raise dynamodb_fault(f"sequence counter of {account}", error) from error


def start_refill(account: str, business_key: str) -> bool:
    """Take the account's one refill slot; False if a refill is already in flight."""
    try:
        AccountSequenceRecord(account).update(
            actions=[AccountSequenceRecord.pending_refill.set(business_key)],
            condition=AccountSequenceRecord.pending_refill.does_not_exist(),
        )
        return True
    except UpdateError as error:
        if not _conditional(error):
            raise dynamodb_fault(f"ticket refill of {account}", error) from error
        return False


def finish_refill(account: str, business_key: str) -> None:
    try:
        AccountSequenceRecord(account).update(
            actions=[AccountSequenceRecord.pending_refill.remove()],
            condition=AccountSequenceRecord.pending_refill == business_key,
        )
    except UpdateError as error:
        if not _conditional(error):
            raise dynamodb_fault(f"ticket refill of {account}", error) from error


def available_tickets(account: str) -> list[int]:
    """The account's Tickets no business key has claimed, from the index that holds only those
    (read moments ago: a claim's condition refuses one claimed meanwhile)."""
    try:
        return [int(t.ticket_sequence) for t in TicketRecord.available.query(account)]
    except QueryError as error:
        raise dynamodb_fault(f"tickets of {account}", error) from error


def index_free_tickets(account: str) -> int:
    """Put the account's free Tickets kept before the index existed into it (a stack deployed
    earlier; idempotent); how many it put. Run by the bootstrap, before the pool is topped up:
    a free Ticket outside the index would never be used, its reserve locked for good."""
    unindexed = (TicketRecord.status == AVAILABLE) & TicketRecord.available_in.does_not_exist()
    put = 0
    for ticket in TicketRecord.query(account, filter_condition=unindexed, consistent_read=True):
        try:
            ticket.update(
                actions=[TicketRecord.available_in.set(account)],
                condition=TicketRecord.status == AVAILABLE,  # claimed meanwhile: not free
            )
            put += 1
        except UpdateError as error:
            if not _conditional(error):
                raise dynamodb_fault(f"tickets of {account}", error) from error
    return put


def add_tickets(account: str, first: int, count: int) -> None:
    """Register tickets first..first+count-1 (idempotent: existing ones are kept)."""
    for sequence in range(first, first + count):
        try:
            TicketRecord(account, sequence, status=AVAILABLE, available_in=account).save(
                condition=TicketRecord.ticket_sequence.does_not_exist()
            )
        except PutError as error:
            if not _conditional(error):
                raise dynamodb_fault(f"tickets of {account}", error) from error

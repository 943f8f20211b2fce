"""Where a transaction's Sequence comes from.

Investor wallets: a per-account counter in DynamoDB, so concurrent flows of one investor never
sign two transactions on one Sequence. Hot platform accounts: a pool of XRPL Tickets claimed
with conditional writes, so hundreds of purchases never queue behind one Sequence.
"""

from __future__ import annotations

from pynamodb.exceptions import PutError, UpdateError

from domain.errors import TransientFault
from lambdas.aws_clients import dynamodb_fault
from lambdas.ledger.quorum import LedgerQuorum
from lambdas.tables import AccountSequenceRecord, TicketRecord

AVAILABLE, CLAIMED = "AVAILABLE", "CLAIMED"


class AccountMissing(TransientFault):
    """The account is not on the validated ledger yet (its funding may still be in flight)."""


def _conditional(error: PutError | UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


class SequenceAllocator:
    def __init__(self, ledger: LedgerQuorum) -> None:
        self._ledger = ledger

    def allocate(self, account: str) -> int:
        """The next unused Sequence of the account, handed out once."""
        for _ in range(3):
            record = AccountSequenceRecord(account)
            try:
                record.update(
                    actions=[AccountSequenceRecord.next_sequence.add(1)],
                    condition=AccountSequenceRecord.account.exists(),
                )
                return int(record.next_sequence) - 1
            except UpdateError as error:
                if not _conditional(error):
                    raise dynamodb_fault(f"sequence counter of {account}", error) from error
            self._initialise(account)
        raise TransientFault(f"could not allocate a Sequence for {account}")

    def state(self, account: str) -> AccountSequenceRecord:
        try:
            return AccountSequenceRecord.get(account, consistent_read=True)
        except AccountSequenceRecord.DoesNotExist:
            self._initialise(account)
            return AccountSequenceRecord.get(account, consistent_read=True)

    def start_refill(self, account: str, business_key: str) -> bool:
        """Take the account's one refill slot; False if a refill is already in flight."""
        try:
            AccountSequenceRecord(account).update(
                actions=[AccountSequenceRecord.pending_refill.set(business_key)],
                condition=AccountSequenceRecord.pending_refill.does_not_exist(),
            )
            return True
        except UpdateError as error:
            if not _conditional(error):
                raise
            return False

    def finish_refill(self, account: str, business_key: str) -> None:
        try:
            AccountSequenceRecord(account).update(
                actions=[AccountSequenceRecord.pending_refill.remove()],
                condition=AccountSequenceRecord.pending_refill == business_key,
            )
        except UpdateError as error:
            if not _conditional(error):
                raise

    def catch_up(self, account: str) -> None:
        """Move the counter up to the ledger's Sequence if something else used the account."""
        ledger_sequence = self._ledger_sequence(account)
        try:
            AccountSequenceRecord(account).update(
                actions=[AccountSequenceRecord.next_sequence.set(ledger_sequence)],
                condition=AccountSequenceRecord.next_sequence < ledger_sequence,
            )
        except UpdateError as error:
            if not _conditional(error):
                raise

    def _initialise(self, account: str) -> None:
        try:
            AccountSequenceRecord(account, next_sequence=self._ledger_sequence(account)).save(
                condition=AccountSequenceRecord.account.does_not_exist()
            )
        except PutError as error:
            if not _conditional(error):
                raise

    def _ledger_sequence(self, account: str) -> int:
        root = self._ledger.account_root(account)
        if root is None:
            raise AccountMissing(f"account {account} is not on the validated ledger")
        return int(root["Sequence"])


class TicketPool:
    """Tickets of hot accounts; lambdas/ledger/reservation.py claims them with the record."""

    def available(self, account: str) -> list[TicketRecord]:
        return list(
            TicketRecord.query(
                account, filter_condition=TicketRecord.status == AVAILABLE, consistent_read=True
            )
        )

    def add(self, account: str, first: int, count: int) -> None:
        """Register tickets first..first+count-1 (idempotent: existing ones are kept)."""
        for sequence in range(first, first + count):
            try:
                TicketRecord(account, sequence, status=AVAILABLE).save(
                    condition=TicketRecord.ticket_sequence.does_not_exist()
                )
            except PutError as error:
                if not _conditional(error):
                    raise

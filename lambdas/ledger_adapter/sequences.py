"""Where a transaction's Sequence comes from.

Investor wallets: a per-account counter (lambdas/records/sequences.py), so concurrent flows of
one investor never sign two transactions on one Sequence. Hot platform accounts: a pool of
XRPL Tickets claimed with conditional writes, so hundreds of purchases never queue behind one
Sequence. The counter starts from, and catches up with, the validated ledger.
"""

from __future__ import annotations

from domain.errors import TransientFault
from lambdas.ledger_adapter.quorum import LedgerQuorum
from lambdas.records import sequences
from lambdas.records.sequences import AccountSequence


class AccountMissing(TransientFault):
    """The account is not on the validated ledger yet (its funding may still be in flight)."""


class SequenceAllocator:
    def __init__(self, ledger: LedgerQuorum) -> None:
        self._ledger = ledger

    def allocate(self, account: str) -> int:
        """The next unused Sequence of the account, handed out once."""
        for _ in range(3):
            sequence = sequences.take_next(account)
            if sequence is not None:
                return sequence
            sequences.start_counting(account, self._ledger_sequence(account))
        raise TransientFault(f"could not allocate a Sequence for {account}")

    def state(self, account: str) -> AccountSequence:
        state = sequences.find(account)
        if state is None:
            sequences.start_counting(account, self._ledger_sequence(account))
            state = sequences.find(account)
        assert state is not None  # counters are never deleted
        return state

    def start_refill(self, account: str, business_key: str) -> bool:
        return sequences.start_refill(account, business_key)

    def finish_refill(self, account: str, business_key: str) -> None:
        sequences.finish_refill(account, business_key)

    def catch_up(self, account: str) -> None:
        """Move the counter up to the ledger's Sequence if something else used the account."""
        sequences.catch_up(account, self._ledger_sequence(account))

    def _ledger_sequence(self, account: str) -> int:
        root = self._ledger.account_root(account)
        if root is None:
            raise AccountMissing(f"account {account} is not on the validated ledger")
        return int(root["Sequence"])


class TicketPool:
    """Tickets of hot accounts; lambdas/records/reservations.py claims them with the record."""

    def available(self, account: str) -> list[int]:
        return sequences.available_tickets(account)

    def add(self, account: str, first: int, count: int) -> None:
        sequences.add_tickets(account, first, count)

"""Reliable submission: sign, persist, submit, and decide only from the validated ledger.

Every transaction serves a business key. `submit` signs and persists it before the first submit
(so a crash at any point is followed by the same blob, never a second transaction); `check`
looks the hash up, finalises it from a validated ledger, resubmits it while it can still apply,
and re-signs it on the same Sequence or Ticket once its LastLedgerSequence has provably passed.
Both decisions need two ledger servers to agree (lambdas/ledger_adapter/quorum.py); until they
do, the submission stays pending and the workflow checks again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from xrpl.models.requests import AccountObjectType

from domain import business_keys
from domain.errors import TransientFault
from domain.ledger_results import Final, Preliminary, classify_preliminary, classify_validated
from domain.signing_policy import MAX_FEE_DROPS, SigningRefused
from lambdas.custody.signed_transaction import SignedTransaction
from lambdas.ledger_adapter.quorum import LedgerQuorum
from lambdas.ledger_adapter.sequences import SequenceAllocator, TicketPool
from lambdas.records import submissions
from lambdas.records.reservations import (
    AlreadyReserved,
    PoolEmpty,
    release,
    reserve_sequence,
    reserve_ticket,
)
from lambdas.records.submissions import Status, Submission

__all__ = ["LedgerSubmitter", "PoolEmpty", "Signer", "Status", "Submission", "TicketPolicy"]

logger = Logger(service="ledger")

Signer = Callable[[Mapping[str, Any]], SignedTransaction]
LAST_LEDGER_WINDOW = 20  # ledgers a signed transaction may wait before it provably expires
MAX_ATTEMPTS = 5  # re-signs after expiry before the step gives up


@dataclass(frozen=True)
class TicketPolicy:
    """Hot accounts keep between low_water and batch_size + low_water tickets ready."""

    batch_size: int = 40
    low_water: int = 15
    max_tickets: int = 250  # rippled's limit per account


class LedgerSubmitter:
    def __init__(
        self,
        ledger: LedgerQuorum,
        allocator: SequenceAllocator,
        tickets: TicketPool,
        ticket_policy: TicketPolicy = TicketPolicy(),
    ) -> None:
        self.ledger = ledger
        self.allocator = allocator
        self.tickets = tickets
        self.ticket_policy = ticket_policy

    @classmethod
    def for_ledger(cls, urls: str | Sequence[str]) -> LedgerSubmitter:
        """The usual wiring: the ledger servers (a list, or comma-separated as XRPL_URLS holds
        them), the Sequence counters, the ticket pools."""
        ledger = LedgerQuorum(urls)
        return cls(ledger, SequenceAllocator(ledger), TicketPool())

    def seconds_until_next_check(self) -> int:
        """How long a workflow should wait before asking about a pending transaction again."""
        from domain.ledger_cadence import seconds_until_next_check
        from lambdas.config import settings

        return seconds_until_next_check(
            self.ledger.validated_age(), settings().ledger_close_seconds
        )

    def find(self, business_key: str) -> Submission | None:
        return submissions.find(business_key)

    def cancel_unsubmitted(self, business_key: str, reason: str) -> Submission:
        """Take the key with a FAILED record if nothing was reserved under it yet, so no later
        run can submit it; a record that exists already stands and is returned."""
        return submissions.cancel_unsubmitted(business_key, reason)

    def submit(
        self, business_key: str, unsigned: dict[str, Any], sign: Signer, *, use_ticket: bool
    ) -> Submission:
        """The step's transaction, signed and persisted once, then submitted (again)."""
        record = self.find(business_key)
        if record is None:
            record = self._prepare(business_key, unsigned, sign, use_ticket)
        if record.status == Status.PREPARING:  # just reserved, or a run crashed before signing
            return self._sign_and_send_in_turn(record, sign)
        if record.status == Status.SUBMITTED:
            record = self._send(record)
        return record

    def submit_when_a_ticket_is_free(
        self, business_key: str, unsigned: dict[str, Any], sign: Signer,
        wait: Callable[[], None], ledgers: int = 15,
    ) -> Submission | None:  # fmt: skip
        """`submit` on a Ticket outside a workflow: an empty pool is waited out a ledger at a
        time, as a workflow step waits (a refill validates within a few); None if none came."""
        for _ in range(ledgers):
            try:
                return self.submit(business_key, unsigned, sign, use_ticket=True)
            except PoolEmpty:
                wait()
        return None

    def check(self, business_key: str, sign: Signer, *, undoing: bool = False) -> Submission:
        """Advance the submission from what the ledger says; final once validated.

        undoing=True (the step is being undone): a Ticket transaction not signed yet, or
        expired, ends FAILED instead of going (again) to the ledger, and its Ticket goes back to
        the pool. One on a Sequence still goes, so the account does not stall on the unused
        Sequence; if its signer refuses (a blocked investor's wallet signs nothing), it ends
        FAILED and the Sequence is given back for the account's next transaction. So undoing
        never needs a signature the signer may refuse."""
        record = submissions.get(business_key)
        ticketed = record.ticket_sequence is not None
        if undoing and record.status == Status.PREPARING and ticketed:
            return release(record, "never signed: the step was being undone")
        if record.status == Status.PREPARING:
            return self._unless_refused(
                undoing, record, lambda: self._sign_and_send_in_turn(record, sign)
            )
        if record.status != Status.SUBMITTED:
            return record
        outcome = self.ledger.transaction_outcome(
            str(record.tx_hash), record.prepared_at_ledger, record.last_ledger_sequence
        )
        if outcome.validated is not None:
            return self._finalise(record, outcome.validated)
        if outcome.expired:
            if undoing and ticketed:
                return release(record, "expired while the step was being undone")
            return self._unless_refused(undoing, record, lambda: self._after_expiry(record, sign))
        if outcome.resend:
            record = self._send(record)  # not seen yet: harmless to submit the same blob again
        # From its LastLedgerSequence on, the blob can no longer apply (tefMAX_LEDGER): the next
        # check proves the expiry and re-signs. Servers that disagree decide nothing: pending.
        return record

    def _prepare(
        self, business_key: str, unsigned: dict[str, Any], sign: Signer, use_ticket: bool
    ) -> Submission:
        """Reserve the Sequence/Ticket with the record (atomically); signing comes after."""
        validated_index = self.ledger.validated_ledger_index()
        try:
            if use_ticket:
                return self._reserve_ticket(business_key, dict(unsigned), validated_index, sign)
            return reserve_sequence(
                self.allocator.state, business_key, dict(unsigned), validated_index
            )
        except AlreadyReserved:
            return submissions.get(business_key)

    def _reserve_ticket(
        self, business_key: str, tx: dict[str, Any], validated_index: int, sign: Signer
    ) -> Submission:
        account = str(tx["Account"])
        try:
            record = reserve_ticket(self.tickets.available, business_key, tx, validated_index)
        except PoolEmpty:
            self._keep_pool_stocked(account, sign)
            raise
        self._keep_pool_stocked(account, sign)
        return record

    def _keep_pool_stocked(self, account: str, sign: Signer) -> None:
        """Housekeeping for the next caller: a refill that cannot start now must not undo the
        reservation just made (the next reservation tries again)."""
        try:
            self.top_up_tickets(account, sign)
        except TransientFault as fault:
            logger.warning("ticket refill deferred", extra={"account": account, "why": str(fault)})

    def _sign_prepared(self, record: Submission, sign: Signer) -> Submission:
        """Sign the reserved transaction; the blob is stored before anything submits it."""
        validated_index = self.ledger.validated_ledger_index()
        signed = sign(self._with_fee_and_expiry(record.unsigned, validated_index))
        return submissions.signed(
            record,
            signed.tx_blob,
            signed.tx_hash,
            signed.last_ledger_sequence or 0,
            validated_index,
        )

    def top_up_tickets(self, account: str, sign: Signer) -> Submission | None:
        """Harvest a validated refill, or start one when the pool runs low. Never waits."""
        state = self.allocator.state(account)
        if state.pending_refill:
            return self._harvest_refill(account, state.pending_refill, sign)
        if len(self.tickets.available(account)) >= self.ticket_policy.low_water:
            return None
        count = self._tickets_wanted(account)
        if count <= 0:
            return None
        self.allocator.catch_up(account)
        key = business_keys.ticket_refill(account, self.ledger.validated_ledger_index())
        if not self.allocator.start_refill(account, key):
            return None  # someone else started one
        return self.submit(key, self._ticket_create(account, count), sign, use_ticket=False)

    def _tickets_wanted(self, account: str) -> int:
        on_ledger = len(self.ledger.objects(account, AccountObjectType.TICKET))
        return min(self.ticket_policy.max_tickets - on_ledger, self.ticket_policy.batch_size)

    @staticmethod
    def _ticket_create(account: str, count: int) -> dict[str, Any]:
        return {"TransactionType": "TicketCreate", "Account": account, "TicketCount": count}

    def _harvest_refill(self, account: str, key: str, sign: Signer) -> Submission:
        if self.find(key) is None:
            # Its starter is between taking the refill slot and recording the transaction, or
            # crashed there. One record per key makes submitting it here safe, and a crashed
            # start can then never hold the slot for good.
            count = max(1, self._tickets_wanted(account))
            self.submit(key, self._ticket_create(account, count), sign, use_ticket=False)
        record = self.check(key, sign)
        if record.status == Status.SUCCEEDED:
            count = int(record.unsigned["TicketCount"])
            self.tickets.add(account, record.sequence + 1, count)
            self.allocator.catch_up(account)
        if record.status != Status.SUBMITTED:
            self.allocator.finish_refill(account, key)
        return record

    def _with_fee_and_expiry(self, tx: dict[str, Any], validated_index: int) -> dict[str, Any]:
        fees = self.ledger.fees()
        fee = max(fees.base_fee, fees.open_ledger_fee)
        if fee > MAX_FEE_DROPS:
            raise TransientFault(f"open ledger fee {fee} drops is above {MAX_FEE_DROPS}; wait")
        return {
            **tx,
            "Fee": str(fee),
            "LastLedgerSequence": validated_index + LAST_LEDGER_WINDOW,
        }

    def _sign_and_send_in_turn(self, record: Submission, sign: Signer) -> Submission:
        """A Sequence transaction behind unsent predecessors stays unsigned until its turn, so
        its LastLedgerSequence window starts when it can apply, not while it waits."""
        if not self._in_turn(record):
            return record
        record = self._sign_prepared(record, sign)
        if record.status == Status.SUBMITTED:
            record = self._submit_blob(record)
        return record

    def _send(self, record: Submission) -> Submission:
        if self._in_turn(record):  # else check() sends it once its predecessors are in
            return self._submit_blob(record)
        return record

    def _submit_blob(self, record: Submission) -> Submission:
        return submissions.sent(record, self.ledger.submit_blob(str(record.tx_blob)))

    def _in_turn(self, record: Submission) -> bool:
        return record.ticket_sequence is not None or self._its_turn(record)

    def _its_turn(self, record: Submission) -> bool:
        """A Sequence transaction applies only after every lower Sequence of its account; sent
        early it is held (terPRE_SEQ) and may be dropped. Concurrent flows of one investor
        reserve Sequences in one order and reach this point in another."""
        current = self.ledger.current_sequence(record.account)
        return current is None or record.sequence <= current

    def _finalise(self, record: Submission, found: dict[str, Any]) -> Submission:
        result = str(found.get("meta", {}).get("TransactionResult"))
        return submissions.settled(record, classify_validated(result) == Final.SUCCEEDED, found)

    def _after_expiry(self, record: Submission, sign: Signer) -> Submission:
        sent = record.preliminary_result  # None: kept back for its turn, it never was
        rejected = sent is not None and classify_preliminary(sent) == Preliminary.REJECTED
        if rejected or record.attempts >= MAX_ATTEMPTS:
            reason = record.preliminary_result or "expired"
            return submissions.never_applied(
                record, f"never applied ({reason}) after {record.attempts} attempts"
            )
        return self._resign(record, sign)

    def _unless_refused(
        self, undoing: bool, record: Submission, signing: Callable[[], Submission]
    ) -> Submission:
        """Sign (again) as asked; while undoing, a refusal gives the Sequence back instead."""
        try:
            return signing()
        except SigningRefused as refused:
            if not undoing:
                raise
            return release(record, f"not signed while undone: {refused}")

    def _resign(self, record: Submission, sign: Signer) -> Submission:
        """Same transaction, same Sequence or Ticket, fresh fee and LastLedgerSequence."""
        tx = record.unsigned
        if record.ticket_sequence is None:
            tx = self._sequence_still_free(tx, record)
        validated_index = self.ledger.validated_ledger_index()
        signed = sign(self._with_fee_and_expiry(tx, validated_index))
        tx = {**tx, "Sequence": signed.sequence}
        resigned = submissions.resigned(
            record,
            tx,
            signed.tx_blob,
            signed.tx_hash,
            signed.last_ledger_sequence or 0,
            validated_index,
        )
        if resigned.tx_hash != signed.tx_hash:
            return resigned  # another run re-signed first: theirs stands
        return self._send(resigned)

    def _sequence_still_free(self, tx: dict[str, Any], record: Submission) -> dict[str, Any]:
        """Re-sign on the same Sequence unless the account has provably moved past it."""
        root = self.ledger.account_root(record.account)
        if root is not None and int(root["Sequence"]) > record.sequence:
            self.allocator.catch_up(record.account)
            return {**tx, "Sequence": self.allocator.allocate(record.account)}
        return tx

"""Reliable submission: sign, persist, submit, and decide only from the validated ledger.

Every transaction serves a business key. `submit` signs and persists it before the first submit
(so a crash at any point is followed by the same blob, never a second transaction); `check`
looks the hash up, finalises it from a validated ledger, resubmits it while it can still apply,
and re-signs it on the same Sequence or Ticket once its LastLedgerSequence has provably passed.
Both decisions need two ledger servers to agree (lambdas/ledger/quorum.py); until they do, the
submission stays pending and the workflow checks again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger
from pynamodb.exceptions import PutError, UpdateError
from xrpl.models.requests import AccountObjectType

from domain.errors import TransientFault
from domain.ledger_results import Final, Preliminary, classify_preliminary, classify_validated
from domain.settlement import key_subject
from domain.signing_policy import MAX_FEE_DROPS, SigningRefused
from lambdas.aws_clients import dynamodb_fault
from lambdas.custody.signed_transaction import SignedTransaction
from lambdas.ledger.quorum import LedgerQuorum
from lambdas.ledger.reservation import (
    AlreadyReserved,
    PoolEmpty,
    RecordFor,
    release,
    reserve_sequence,
    reserve_ticket,
)
from lambdas.ledger.sequences import SequenceAllocator, TicketPool
from lambdas.tables import SubmissionRecord

logger = Logger(service="ledger")

Signer = Callable[[Mapping[str, Any]], SignedTransaction]
LAST_LEDGER_WINDOW = 20  # ledgers a signed transaction may wait before it provably expires
MAX_ATTEMPTS = 5  # re-signs after expiry before the step gives up


class Status(StrEnum):
    PREPARING = "PREPARING"  # Sequence/Ticket reserved, not signed yet
    SUBMITTED = "SUBMITTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


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

    def find(self, business_key: str) -> SubmissionRecord | None:
        try:
            return SubmissionRecord.get(business_key, consistent_read=True)
        except SubmissionRecord.DoesNotExist:
            return None

    def cancel_unsubmitted(self, business_key: str, reason: str) -> SubmissionRecord:
        """Take the key with a FAILED record if nothing was reserved under it yet, so no later
        run can submit it; a record that exists already stands and is returned."""
        record = SubmissionRecord(
            business_key,
            subject=key_subject(business_key),
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
            return SubmissionRecord.get(business_key, consistent_read=True)
        return record

    def submit(
        self, business_key: str, unsigned: dict[str, Any], sign: Signer, *, use_ticket: bool
    ) -> SubmissionRecord:
        """The step's transaction, signed and persisted once, then submitted (again)."""
        record = self.find(business_key)
        if record is None:
            record = self._prepare(business_key, unsigned, sign, use_ticket)
        if record.status == Status.PREPARING:  # just reserved, or a run crashed before signing
            return self._sign_and_send_in_turn(record, sign)
        if record.status == Status.SUBMITTED:
            self._send(record)
        return record

    def check(self, business_key: str, sign: Signer, *, undoing: bool = False) -> SubmissionRecord:
        """Advance the submission from what the ledger says; final once validated.

        undoing=True (the step is being undone): a Ticket transaction not signed yet, or
        expired, ends FAILED instead of going (again) to the ledger, and its Ticket goes back to
        the pool. One on a Sequence still goes, so the account does not stall on the unused
        Sequence; if its signer refuses (a blocked investor's wallet signs nothing), it ends
        FAILED and the Sequence is given back for the account's next transaction. So undoing
        never needs a signature the signer may refuse."""
        record = self.find(business_key)
        if record is None:
            raise KeyError(f"no submission for {business_key}")
        unsigned = SubmissionRecord.status == Status.PREPARING.value
        if undoing and record.status == Status.PREPARING and record.ticket_sequence is not None:
            return self._release(record, "never signed: the step was being undone", unsigned)
        if record.status == Status.PREPARING:
            return self._unless_refused(
                undoing, record, unsigned, lambda: self._sign_and_send_in_turn(record, sign)
            )
        if record.status != Status.SUBMITTED:
            return record
        outcome = self.ledger.transaction_outcome(
            record.tx_hash, int(record.prepared_at_ledger), int(record.last_ledger_sequence)
        )
        if outcome.validated is not None:
            return self._finalise(record, outcome.validated)
        if outcome.expired:
            unchanged = SubmissionRecord.tx_hash == record.tx_hash
            if undoing and record.ticket_sequence is not None:
                return self._release(record, "expired while the step was being undone", unchanged)
            return self._unless_refused(
                undoing, record, unchanged, lambda: self._after_expiry(record, sign)
            )
        if outcome.resend:
            self._send(record)  # not seen yet: harmless to submit the same blob again
        # From its LastLedgerSequence on, the blob can no longer apply (tefMAX_LEDGER): the next
        # check proves the expiry and re-signs. Servers that disagree decide nothing: pending.
        return record

    def _prepare(
        self, business_key: str, unsigned: dict[str, Any], sign: Signer, use_ticket: bool
    ) -> SubmissionRecord:
        """Reserve the Sequence/Ticket with the record (atomically); signing comes after."""
        validated_index = self.ledger.validated_ledger_index()

        def record_for(tx: dict[str, Any]) -> SubmissionRecord:
            return SubmissionRecord(
                business_key,
                subject=key_subject(business_key),
                account=str(tx["Account"]),
                transaction_type=str(tx["TransactionType"]),
                unsigned_json=json.dumps(tx, sort_keys=True),
                sequence=int(tx["Sequence"]),
                ticket_sequence=tx.get("TicketSequence"),
                last_ledger_sequence=0,
                prepared_at_ledger=validated_index,
                status=Status.PREPARING.value,
            )

        try:
            if use_ticket:
                record = self._reserve_ticket(dict(unsigned), record_for, sign)
            else:
                record = reserve_sequence(self.allocator, dict(unsigned), record_for)
        except AlreadyReserved:
            record = SubmissionRecord.get(business_key, consistent_read=True)
        return record

    def _reserve_ticket(
        self, tx: dict[str, Any], record_for: RecordFor, sign: Signer
    ) -> SubmissionRecord:
        account = str(tx["Account"])
        try:
            record = reserve_ticket(self.tickets, tx, record_for)
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

    def _sign_prepared(self, record: SubmissionRecord, sign: Signer) -> SubmissionRecord:
        """Sign the reserved transaction; the blob is stored before anything submits it."""
        tx = json.loads(record.unsigned_json)
        validated_index = self.ledger.validated_ledger_index()
        signed = sign(self._with_fee_and_expiry(tx, validated_index))
        try:
            record.update(
                actions=[
                    SubmissionRecord.tx_blob.set(signed.tx_blob),
                    SubmissionRecord.tx_hash.set(signed.tx_hash),
                    SubmissionRecord.last_ledger_sequence.set(signed.last_ledger_sequence or 0),
                    SubmissionRecord.prepared_at_ledger.set(validated_index),
                    SubmissionRecord.status.set(Status.SUBMITTED.value),
                ],
                condition=SubmissionRecord.status == Status.PREPARING.value,
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise dynamodb_fault(f"submission {record.business_key}", error) from error
            return SubmissionRecord.get(record.business_key, consistent_read=True)
        return record

    def top_up_tickets(self, account: str, sign: Signer) -> SubmissionRecord | None:
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
        key = f"tickets#{account}#{self.ledger.validated_ledger_index()}"
        if not self.allocator.start_refill(account, key):
            return None  # someone else started one
        return self.submit(key, self._ticket_create(account, count), sign, use_ticket=False)

    def _tickets_wanted(self, account: str) -> int:
        on_ledger = len(self.ledger.objects(account, AccountObjectType.TICKET))
        return min(self.ticket_policy.max_tickets - on_ledger, self.ticket_policy.batch_size)

    @staticmethod
    def _ticket_create(account: str, count: int) -> dict[str, Any]:
        return {"TransactionType": "TicketCreate", "Account": account, "TicketCount": count}

    def _harvest_refill(self, account: str, key: str, sign: Signer) -> SubmissionRecord:
        if self.find(key) is None:
            # Its starter is between taking the refill slot and recording the transaction, or
            # crashed there. One record per key makes submitting it here safe, and a crashed
            # start can then never hold the slot for good.
            count = max(1, self._tickets_wanted(account))
            self.submit(key, self._ticket_create(account, count), sign, use_ticket=False)
        record = self.check(key, sign)
        if record.status == Status.SUCCEEDED:
            count = int(json.loads(record.unsigned_json)["TicketCount"])
            self.tickets.add(account, int(record.sequence) + 1, count)
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

    def _sign_and_send_in_turn(self, record: SubmissionRecord, sign: Signer) -> SubmissionRecord:
        """A Sequence transaction behind unsent predecessors stays unsigned until its turn, so
        its LastLedgerSequence window starts when it can apply, not while it waits."""
        if not self._in_turn(record):
            return record
        record = self._sign_prepared(record, sign)
        if record.status == Status.SUBMITTED:
            self._submit_blob(record)
        return record

    def _send(self, record: SubmissionRecord) -> None:
        if self._in_turn(record):  # else check() sends it once its predecessors are in
            self._submit_blob(record)

    def _submit_blob(self, record: SubmissionRecord) -> None:
        result = self.ledger.submit_blob(record.tx_blob)
        record.update(actions=[SubmissionRecord.preliminary_result.set(result)])

    def _in_turn(self, record: SubmissionRecord) -> bool:
        return record.ticket_sequence is not None or self._its_turn(record)

    def _its_turn(self, record: SubmissionRecord) -> bool:
        """A Sequence transaction applies only after every lower Sequence of its account; sent
        early it is held (terPRE_SEQ) and may be dropped. Concurrent flows of one investor
        reserve Sequences in one order and reach this point in another."""
        current = self.ledger.current_sequence(str(record.account))
        return current is None or int(record.sequence) <= current

    def _finalise(self, record: SubmissionRecord, found: dict[str, Any]) -> SubmissionRecord:
        meta = found.get("meta", {})
        result = str(meta.get("TransactionResult"))
        status = (
            Status.SUCCEEDED if classify_validated(result) == Final.SUCCEEDED else Status.FAILED
        )
        record.update(
            actions=[
                SubmissionRecord.status.set(status.value),
                SubmissionRecord.result.set(result),
                SubmissionRecord.ledger_index.set(int(found["ledger_index"])),
                SubmissionRecord.meta_json.set(json.dumps(meta)),
                SubmissionRecord.updated_at.set(datetime.now(UTC)),
            ]
        )
        return record

    def _after_expiry(self, record: SubmissionRecord, sign: Signer) -> SubmissionRecord:
        sent = record.preliminary_result is not None  # one kept back for its turn never was
        rejected = sent and classify_preliminary(record.preliminary_result) == Preliminary.REJECTED
        if rejected or record.attempts >= MAX_ATTEMPTS:
            reason = record.preliminary_result or "expired"
            return self._fail_unapplied(
                record, f"never applied ({reason}) after {record.attempts} attempts"
            )
        return self._resign(record, sign)

    def _unless_refused(
        self,
        undoing: bool,
        record: SubmissionRecord,
        unchanged: Any,
        signing: Callable[[], SubmissionRecord],
    ) -> SubmissionRecord:
        """Sign (again) as asked; while undoing, a refusal gives the Sequence back instead."""
        try:
            return signing()
        except SigningRefused as refused:
            if not undoing:
                raise
            return self._release(record, f"not signed while undone: {refused}", unchanged)

    def _release(self, record: SubmissionRecord, reason: str, unchanged: Any) -> SubmissionRecord:
        ending = [
            SubmissionRecord.status.set(Status.FAILED.value),
            SubmissionRecord.result.set(reason),
        ]
        release(record, ending, unchanged)  # if it was signed or settled meanwhile, that stands
        return SubmissionRecord.get(record.business_key, consistent_read=True)

    def _fail_unapplied(self, record: SubmissionRecord, reason: str) -> SubmissionRecord:
        record.update(
            actions=[
                SubmissionRecord.status.set(Status.FAILED.value),
                SubmissionRecord.result.set(reason),
            ],
            condition=SubmissionRecord.tx_hash == record.tx_hash,
        )
        return record

    def _resign(self, record: SubmissionRecord, sign: Signer) -> SubmissionRecord:
        """Same transaction, same Sequence or Ticket, fresh fee and LastLedgerSequence."""
        tx = json.loads(record.unsigned_json)
        if record.ticket_sequence is None:
            tx = self._sequence_still_free(tx, record)
        validated_index = self.ledger.validated_ledger_index()
        signed = sign(self._with_fee_and_expiry(tx, validated_index))
        try:
            record.update(
                actions=[
                    SubmissionRecord.expired_hashes.set([*record.expired_hashes, record.tx_hash]),  # type: ignore[list-item]
                    SubmissionRecord.unsigned_json.set(json.dumps(tx, sort_keys=True)),
                    SubmissionRecord.sequence.set(signed.sequence),
                    SubmissionRecord.tx_blob.set(signed.tx_blob),
                    SubmissionRecord.tx_hash.set(signed.tx_hash),
                    SubmissionRecord.last_ledger_sequence.set(signed.last_ledger_sequence or 0),
                    SubmissionRecord.prepared_at_ledger.set(validated_index),
                    SubmissionRecord.attempts.add(1),
                    SubmissionRecord.preliminary_result.remove(),
                ],
                condition=SubmissionRecord.tx_hash == record.tx_hash,
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return SubmissionRecord.get(record.business_key, consistent_read=True)
        self._send(record)
        return record

    def _sequence_still_free(self, tx: dict[str, Any], record: SubmissionRecord) -> dict[str, Any]:
        """Re-sign on the same Sequence unless the account has provably moved past it."""
        root = self.ledger.account_root(record.account)
        if root is not None and int(root["Sequence"]) > int(record.sequence):
            self.allocator.catch_up(record.account)
            return {**tx, "Sequence": self.allocator.allocate(record.account)}
        return tx

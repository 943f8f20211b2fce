"""Purchase records: created once per payment, with the instrument's units reserved atomically.

Every write here is idempotent, so a retried task or a redelivered event changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import PutError, QueryError, TransactWriteError
from pynamodb.expressions.update import Action

from domain.errors import PaymentRejected
from domain.investor import InvestorStanding
from domain.purchase import (
    Handling,
    InstrumentOffer,
    Payment,
    Purchase,
    PurchaseStatus,
    check_purchase,
    handling_for,
    units_unavailable,
)
from lambdas.aws_clients import dynamodb_fault
from lambdas.records import instruments
from lambdas.records.tables import InstrumentRecord, PurchaseRecord, transaction


def find(purchase_id: str) -> Purchase | None:
    record = _read(purchase_id)
    return _purchase(record) if record is not None else None


def get(purchase_id: str) -> Purchase:
    purchase = find(purchase_id)
    if purchase is None:
        raise PaymentRejected(f"no purchase {purchase_id}")
    return purchase


def statuses(purchase_ids: Iterable[str]) -> dict[str, PurchaseStatus]:
    """The status alone of each of these that exists: what a load's watcher polls."""
    wanted = sorted(set(purchase_ids))
    only = [PurchaseRecord.purchase_id.attr_name, PurchaseRecord.status.attr_name]
    records = PurchaseRecord.batch_get(wanted, consistent_read=True, attributes_to_get=only)
    return {record.purchase_id: PurchaseStatus(record.status) for record in records}


def every() -> Iterator[Purchase]:
    """Every purchase, for operators and audits (a scan: never on a saga's path)."""
    return (_purchase(record) for record in PurchaseRecord.scan())


def of_instrument(instrument_id: str) -> list[Purchase]:
    """Every purchase of the instrument, whatever its status. A scan (filtered): run for a
    distribution's snapshot, never on a saga's path."""
    ours = PurchaseRecord.instrument_id == instrument_id
    return [_purchase(r) for r in PurchaseRecord.scan(filter_condition=ours, consistent_read=True)]


def of_investor(investor_id: str) -> list[Purchase]:
    """Every purchase of the investor, whatever its status (the by-investor index)."""
    try:
        return [_purchase(r) for r in PurchaseRecord.by_investor.query(investor_id)]
    except QueryError as error:
        raise dynamodb_fault(f"purchases of {investor_id}", error) from error


def _read(purchase_id: str) -> PurchaseRecord | None:
    try:
        return PurchaseRecord.get(purchase_id, consistent_read=True)
    except PurchaseRecord.DoesNotExist:
        return None


def _purchase(record: PurchaseRecord) -> Purchase:
    return Purchase(
        purchase_id=record.purchase_id,
        payment_id=record.payment_id,
        investor_id=record.investor_id,
        instrument_id=record.instrument_id,
        units=int(record.units),
        amount=record.amount,
        currency=record.currency,
        status=PurchaseStatus(record.status),
        reason=record.reason,
        issuance_id=record.issuance_id,
        investor_address=record.investor_address,
        execution_arn=record.execution_arn,
        units_held=bool(record.units_held),
        compensating=bool(record.compensating),
        refund_requested=bool(record.refund_requested),
        refund_outcome=record.refund_outcome,
        refunded_at=record.refunded_at,
        compensation_round=int(record.compensation_round or 0),
        parked_reason=record.parked_reason,
        parked_at_redrive=int(record.parked_at_redrive or 0),
        transactions=_transactions(record),
        updated_at=record.updated_at,
    )


def _transactions(record: PurchaseRecord) -> dict[str, dict[str, Any]]:
    """Each step's transaction: hash, ledger index, result (numbers as ints, not Decimals)."""
    raw = record.transactions.as_dict() if record.transactions is not None else {}
    return {step: _plain(details) for step, details in raw.items()}


def open_purchase(
    payment: Payment, standing: InvestorStanding | None, execution_arn: str, redrive: bool
) -> tuple[Purchase, Handling]:
    """The purchase for a payment and what this execution should do with it.

    New payments are checked against the investor and the instrument, then recorded together
    with the reservation of their units; a payment that fails a check is PaymentRejected.
    """
    existing = find(payment.purchase_id)
    if existing is None:
        offer = instruments.find_offer(payment.instrument_id)
        check_purchase(payment, standing, offer)
        assert standing is not None and offer is not None  # checked above
        created = _create_with_reservation(payment, standing, offer, execution_arn)
        if created is not None:
            return created, Handling.SETTLE
        existing = get(payment.purchase_id)  # a concurrent delivery of the payment won
    if not existing.pays_for(payment):
        return existing, Handling.DUPLICATE  # never let a conflicting event touch a purchase
    handling = handling_for(
        existing.status, existing.execution_arn, execution_arn, redrive, existing.compensating
    )
    if handling != Handling.DUPLICATE and existing.execution_arn != execution_arn:
        _take_over(existing, execution_arn)
    return existing, handling


def _create_with_reservation(
    payment: Payment,
    standing: InvestorStanding,
    offer: InstrumentOffer,
    execution_arn: str,
) -> Purchase | None:
    """Record the purchase and take its units in one transaction; None if it already exists."""
    record = PurchaseRecord(
        payment.purchase_id,
        payment_id=payment.payment_id,
        investor_id=payment.investor_id,
        instrument_id=payment.instrument_id,
        units=payment.units,
        amount=str(payment.amount),
        currency=payment.currency,
        status=PurchaseStatus.DEPOSIT_RECORDED.value,
        issuance_id=offer.issuance_id,
        investor_address=standing.wallet_address,
        execution_arn=execution_arn,
        units_held=True,
    )
    try:
        with transaction() as writes:
            writes.save(record, condition=PurchaseRecord.purchase_id.does_not_exist())
            writes.update(
                InstrumentRecord(payment.instrument_id),
                actions=[
                    InstrumentRecord.units_available.add(-payment.units),
                    InstrumentRecord.units_reserved.add(payment.units),
                ],
                condition=(InstrumentRecord.units_available >= payment.units)
                & (InstrumentRecord.status == "OPEN"),
            )
    except TransactWriteError as error:
        # pynamodb sends puts before updates: reason 0 is the purchase, 1 the instrument.
        if _failed(error, 0):
            return None
        if _failed(error, 1):
            left = instruments.find_offer(payment.instrument_id)
            raise PaymentRejected(
                units_unavailable(payment, left.units_available if left else 0)
            ) from None
        raise dynamodb_fault(f"recording purchase {payment.purchase_id}", error) from error
    return _purchase(record)


def _update(purchase_id: str, actions: list[Action], condition: Any = None) -> Purchase:
    """Apply the changes to the purchase on record; the purchase as written."""
    record = PurchaseRecord(purchase_id)
    record.update(
        actions=[*actions, PurchaseRecord.updated_at.set(datetime.now(UTC))],
        condition=PurchaseRecord.purchase_id.exists() & condition
        if condition is not None
        else PurchaseRecord.purchase_id.exists(),
    )
    return _purchase(record)  # update() read back every attribute


def _take_over(purchase: Purchase, execution_arn: str) -> None:
    """An operator's redrive: this execution now settles (or undoes) the purchase."""
    actions: list[Action] = [
        PurchaseRecord.execution_arn.set(execution_arn),
        PurchaseRecord.status.set(purchase.status_on_takeover().value),
    ]
    if purchase.compensating:  # the operator fixed what stopped the undoing: try it afresh
        actions.append(PurchaseRecord.compensation_round.add(1))
    _update(purchase.purchase_id, actions)


def begin_compensation(purchase_id: str, reason: str) -> Purchase:
    """From here on the purchase only goes backwards; the first reason is the one kept."""
    purchase = get(purchase_id)
    purchase.check_may_undo(reason)
    if purchase.compensating:
        return purchase
    return _update(
        purchase_id,
        [
            PurchaseRecord.compensating.set(True),
            PurchaseRecord.status.set(PurchaseStatus.COMPENSATING.value),
            PurchaseRecord.reason.set(reason),
        ],
    )


def resume_compensation(purchase_id: str) -> None:
    """A parked purchase goes back to undoing, in a new round: compensation transactions that
    failed before are tried again under new keys (the parked reason stays on record)."""
    _update(
        purchase_id,
        [
            PurchaseRecord.compensating.set(True),
            PurchaseRecord.status.set(PurchaseStatus.COMPENSATING.value),
            PurchaseRecord.compensation_round.add(1),
        ],
    )


def record_transaction(purchase_id: str, step: str, details: dict[str, Any]) -> None:
    _update(purchase_id, [PurchaseRecord.transactions[step].set(details)])  # type: ignore[index]


def release_units(purchase_id: str, execution_arn: str) -> Purchase | None:
    """Give the purchase's reserved units back to the instrument, once, and only from the
    execution that owns the purchase (never from a duplicate delivery of its payment)."""
    record = find(purchase_id)
    if record is None or not record.units_held or record.execution_arn != execution_arn:
        return record
    try:
        with transaction() as writes:
            writes.update(
                PurchaseRecord(purchase_id),
                actions=[PurchaseRecord.units_held.set(False)],
                condition=(PurchaseRecord.units_held == True)  # noqa: E712 (DynamoDB condition)
                & (PurchaseRecord.execution_arn == execution_arn),
            )
            writes.update(
                InstrumentRecord(record.instrument_id),
                actions=[
                    InstrumentRecord.units_available.add(int(record.units)),
                    InstrumentRecord.units_reserved.add(-int(record.units)),
                ],
            )
    except TransactWriteError as error:
        if not _failed(error, 0):
            raise dynamodb_fault(f"releasing units of {purchase_id}", error) from error
    return find(purchase_id)


def complete_delivery(purchase_id: str) -> Purchase:
    """The reserved units become sold and the purchase DELIVERED, once."""
    record = get(purchase_id)
    if record.status == PurchaseStatus.DELIVERED:
        return record
    record.check_may_complete()
    try:
        with transaction() as writes:
            writes.update(
                PurchaseRecord(purchase_id),
                actions=[
                    PurchaseRecord.units_held.set(False),
                    PurchaseRecord.status.set(PurchaseStatus.DELIVERED.value),
                    PurchaseRecord.updated_at.set(datetime.now(UTC)),
                ],
                condition=(PurchaseRecord.units_held == True)  # noqa: E712
                & (PurchaseRecord.compensating == False),  # noqa: E712
            )
            writes.update(
                InstrumentRecord(record.instrument_id),
                actions=[
                    InstrumentRecord.units_reserved.add(-int(record.units)),
                    InstrumentRecord.units_sold.add(int(record.units)),
                ],
            )
    except TransactWriteError as error:
        if not _failed(error, 0):
            raise dynamodb_fault(f"completing {purchase_id}", error) from error
        return complete_delivery(purchase_id)  # re-read: delivered meanwhile, or undoing
    return get(purchase_id)


def claim_refund(
    purchase_id: str, payment_fields: dict[str, Any], reason: str, execution_arn: str
) -> Purchase | None:
    """The purchase this execution refunds, created if the payment never became one; None if
    the purchase belongs to another execution (a duplicate delivery must not refund it)."""
    if find(purchase_id) is None:
        record = PurchaseRecord(
            purchase_id,
            payment_id=str(payment_fields.get("payment_id", "")),
            investor_id=str(payment_fields.get("investor_id", "")),
            instrument_id=str(payment_fields.get("instrument_id", "")),
            units=0,
            amount=str(payment_fields.get("amount", "")),
            currency=str(payment_fields.get("currency", "")),
            status=PurchaseStatus.COMPENSATING.value,
            compensating=True,
            reason=reason,
            execution_arn=execution_arn,
        )
        try:
            record.save(condition=PurchaseRecord.purchase_id.does_not_exist())
            return _purchase(record)
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise dynamodb_fault(f"recording refund of {purchase_id}", error) from error
    purchase = get(purchase_id)
    if purchase.execution_arn not in (None, execution_arn):
        return None
    purchase.check_may_refund()
    return purchase


def mark_refund_asked(purchase_id: str) -> Purchase:
    """Before the request goes to the provider: its answer may come at once."""
    return _update(purchase_id, [PurchaseRecord.refund_requested.set(True)])


def mark_refunded(purchase_id: str, reason: str) -> Purchase:
    """REFUNDED, after RefundRequested is on the bus; the first failure's reason is kept."""

    purchase = get(purchase_id)
    return _update(
        purchase_id,
        [
            PurchaseRecord.status.set(PurchaseStatus.REFUNDED.value),
            PurchaseRecord.refund_requested.set(True),
            PurchaseRecord.reason.set(purchase.reason or reason),
        ],
    )


def record_refund_outcome(
    purchase_id: str, outcome: str, reference: str, occurred_at: datetime
) -> Purchase:
    """The provider's word on a refund we asked for, and when it says it happened (a duplicate
    webhook writes the same; a later, different word replaces it, as the provider's latest)."""
    actions: list[Action] = [
        PurchaseRecord.refund_outcome.set(outcome),
        PurchaseRecord.refund_reference.set(reference),
    ]
    if outcome == "SUCCEEDED":
        actions.append(PurchaseRecord.refunded_at.set(occurred_at))
    return _update(purchase_id, actions, PurchaseRecord.refund_requested == True)  # noqa: E712


def park(
    purchase_id: str,
    reason: str,
    payment_fields: dict[str, Any],
    execution_arn: str,
    redrive_count: int,
) -> Purchase:
    """NEEDS_OPERATOR with the exact reason (beside the reason it was being undone). A payment
    that never became a purchase gets a record here, so the operator finds it. A finished
    purchase (delivered or refunded) is left as it is."""
    purchase = find(purchase_id)
    if purchase is None:
        purchase = claim_refund(purchase_id, payment_fields, reason, execution_arn)
        purchase = purchase or get(purchase_id)
    if purchase.status.is_final:
        return purchase
    return _update(
        purchase_id,
        [
            PurchaseRecord.compensating.set(True),  # parked purchases only ever go backwards
            PurchaseRecord.status.set(PurchaseStatus.NEEDS_OPERATOR.value),
            PurchaseRecord.parked_reason.set(reason),
            PurchaseRecord.parked_at_redrive.set(redrive_count),
        ],
    )


def _plain(details: dict[str, Any]) -> dict[str, Any]:
    return {k: int(v) if isinstance(v, (int, float, Decimal)) else v for k, v in details.items()}


def _failed(error: TransactWriteError, index: int) -> bool:
    reasons = error.cancellation_reasons
    reason = reasons[index] if len(reasons) > index else None
    return reason is not None and reason.code == "ConditionalCheckFailed"

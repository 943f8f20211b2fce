"""Reading and writing purchase records: idempotent, so redelivered events change nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import PutError

from domain.errors import PaymentRejected, TransientFault
from domain.purchase import Payment, PurchaseStatus
from lambdas.tables import PurchaseRecord


def record_deposit(payment: Payment) -> PurchaseRecord:
    """Create the purchase for a payment, or return the one an earlier delivery created."""
    record = PurchaseRecord(
        payment.purchase_id,
        payment_id=payment.payment_id,
        investor_id=payment.investor_id,
        instrument_id=payment.instrument_id,
        units=payment.units,
        amount=str(payment.amount),
        currency=payment.currency,
        status=PurchaseStatus.DEPOSIT_RECORDED.value,
    )
    try:
        record.save(condition=PurchaseRecord.purchase_id.does_not_exist())
        return record
    except PutError as error:
        if not _is_conditional_failure(error):
            raise TransientFault(f"purchases table did not accept the write: {error}") from error
    existing = PurchaseRecord.get(payment.purchase_id, consistent_read=True)
    if existing.payment_id != payment.payment_id or existing.amount != str(payment.amount):
        raise PaymentRejected(f"payment {payment.payment_id} was already used for other details")
    return existing


def record_refund(
    purchase_id: str, payment_fields: dict[str, object], reason: str
) -> PurchaseRecord:
    """Mark a purchase refunded with its reason; create the record if the payment had none."""
    try:
        record = PurchaseRecord.get(purchase_id, consistent_read=True)
    except PurchaseRecord.DoesNotExist:
        record = PurchaseRecord(
            purchase_id,
            payment_id=str(payment_fields.get("payment_id", "")),
            investor_id=str(payment_fields.get("investor_id", "")),
            instrument_id=str(payment_fields.get("instrument_id", "")),
            units=0,
            amount=str(payment_fields.get("amount", "")),
            currency=str(payment_fields.get("currency", "")),
            status=PurchaseStatus.REFUNDED.value,
        )
    record.status = PurchaseStatus.REFUNDED.value
    record.reason = reason
    record.updated_at = datetime.now(UTC)
    record.save()
    return record


def _is_conditional_failure(error: PutError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"

"""Payments as the gateway's authenticated webhook announced them.

The payments webhook writes one before the payment's event reaches the bus; Record deposit reads
it and takes a payment only as announced (domain.purchase.payment_as_announced). Only the webhook's
role may write here, so an event put on the bus by anyone else moves no money.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pynamodb.exceptions import PutError, ScanError

from domain.purchase import Payment, is_identifier
from domain.webhooks import WebhookRejected
from lambdas.aws_clients import dynamodb_fault
from lambdas.records.tables import PaymentAnnouncementRecord


def announce(payment: Payment, request_id: str) -> None:
    """Keep the announcement; the same payment announced again (a provider's retry) is fine, a
    different one under the same payment id is refused."""
    record = PaymentAnnouncementRecord(
        payment.payment_id,
        investor_id=payment.investor_id,
        instrument_id=payment.instrument_id,
        units=payment.units,
        amount=str(payment.amount),
        currency=payment.currency,
        request_id=request_id,
    )
    try:
        record.save(condition=PaymentAnnouncementRecord.payment_id.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise dynamodb_fault("payment announcements", error) from error
        if find(payment.payment_id) != payment:
            raise WebhookRejected(
                409,
                "payment_conflict",
                f"payment {payment.payment_id} was announced before with other details",
            ) from None


def announced_by(cut_off: datetime) -> dict[str, Decimal]:
    """Each payment announced by the cut-off, with its amount (a scan: for a daily report)."""
    try:
        scan = PaymentAnnouncementRecord.scan(consistent_read=True)
        return {r.payment_id: Decimal(r.amount) for r in scan if r.announced_at <= cut_off}
    except ScanError as error:
        raise dynamodb_fault("payment announcements", error) from error


def find(payment_id: object) -> Payment | None:
    """The announcement of payment_id; None for no announcement, or for no valid payment id."""
    if not is_identifier(payment_id):
        return None
    assert isinstance(payment_id, str)
    try:
        record = PaymentAnnouncementRecord.get(payment_id, consistent_read=True)
    except PaymentAnnouncementRecord.DoesNotExist:
        return None
    return Payment(
        record.payment_id,
        record.investor_id,
        record.instrument_id,
        int(record.units),
        Decimal(record.amount),
        record.currency,
    )

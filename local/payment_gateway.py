"""The payment gateway's side, for runs that put payments on the bus without the HTTP door.

Record deposit takes a payment only as the gateway's authenticated webhook announced it
(lambdas/records/payments.py). Tests and benchmarks that start purchases straight from the
bus keep the announcement first, through the webhook's own code, as the administrator, and
the payment provider stand-in the platform runs with takes the money (its settlement report
then lists it, as a real provider's would: the reconciliation compares the two).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.payment_provider import PaymentProvider

_provider: PaymentProvider | None = None


def take_payments_through(provider: PaymentProvider | None) -> None:
    """The stand-in that captures the payments announced from here on (None: no provider)."""
    global _provider
    _provider = provider


def announce_as_the_webhook_would(detail: dict[str, Any]) -> None:
    """Keep the payment as announced, captured first; a malformed one is neither (the webhook
    refuses it, and no gateway would have taken it)."""
    from domain.errors import PaymentRejected
    from domain.purchase import Payment
    from lambdas.records import payments as payment_announcements

    try:
        payment = Payment.from_event(detail)
    except PaymentRejected:
        return
    if _provider is not None:
        _provider.capture(payment.payment_id, payment.amount, payment.currency)
    payment_announcements.announce(payment, f"local-{uuid.uuid4().hex[:8]}")

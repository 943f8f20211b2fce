"""The payment gateway's side, for runs that put payments on the bus without the HTTP door.

Record deposit takes a payment only as the gateway's authenticated webhook announced it
(lambdas/records/payments.py). Tests and benchmarks that start purchases straight from the
bus keep the announcement first, through the webhook's own code, as the administrator.
"""

from __future__ import annotations

import uuid
from typing import Any


def announce_as_the_webhook_would(detail: dict[str, Any]) -> None:
    """Keep the payment as announced; a malformed one is not (the webhook refuses it)."""
    from domain.errors import PaymentRejected
    from domain.purchase import Payment
    from lambdas.records import payments as payment_announcements

    try:
        payment = Payment.from_event(detail)
    except PaymentRejected:
        return
    payment_announcements.announce(payment, f"local-{uuid.uuid4().hex[:8]}")

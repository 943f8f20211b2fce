"""A purchase: one payment from the gateway becoming instrument units for an investor."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.errors import PaymentRejected
from domain.money import SUPPORTED_CURRENCIES, parse_amount

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class PurchaseStatus(StrEnum):
    DEPOSIT_RECORDED = "DEPOSIT_RECORDED"
    DELIVERED = "DELIVERED"
    REFUNDED = "REFUNDED"
    NEEDS_OPERATOR = "NEEDS_OPERATOR"


@dataclass(frozen=True)
class Payment:
    """A payment as the gateway reported it, checked for shape (not yet against our records)."""

    payment_id: str
    investor_id: str
    instrument_id: str
    units: int
    amount: Decimal
    currency: str

    @classmethod
    def from_event(cls, detail: dict[str, Any]) -> Payment:
        """Build from a PaymentReceived event's detail; any defect is a PaymentRejected."""
        try:
            return cls(
                payment_id=_identifier(detail, "payment_id"),
                investor_id=_identifier(detail, "investor_id"),
                instrument_id=_identifier(detail, "instrument_id"),
                units=_units(detail.get("units")),
                amount=parse_amount(detail.get("amount")),
                currency=_currency(detail.get("currency")),
            )
        except (ValueError, TypeError, AttributeError) as error:
            raise PaymentRejected(f"malformed payment: {error}") from None

    @property
    def purchase_id(self) -> str:
        return purchase_id_for(self.payment_id)


def purchase_id_for(payment_id: str) -> str:
    """One payment is one purchase: the id is derived, so every redelivery finds the same one.

    Also a valid Step Functions execution name (at most 80 characters, no spaces).
    """
    digest = hashlib.sha256(payment_id.encode()).hexdigest()[:24]
    return f"purchase-{digest}"


def failure_reason(failure: dict[str, Any]) -> str:
    """The reason a step failed, in words for the investor's refund and the operator.

    A Step Functions error output is {"Error": name, "Cause": text}; for a Lambda error the
    cause is JSON carrying errorMessage, and the stack trace is of no use here.
    """
    error = str(failure.get("Error") or "UnknownError")
    cause = failure.get("Cause") or ""
    try:
        parsed = json.loads(cause)
        message = str(parsed.get("errorMessage", cause)) if isinstance(parsed, dict) else cause
    except ValueError:
        message = str(cause)
    return f"{error}: {message}" if message else error


def _identifier(detail: dict[str, Any], name: str) -> str:
    value = detail.get(name)
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(f"{name} must be 1-64 letters, digits or _.:- (got {value!r})")
    return value


def _units(raw: object) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw <= 0:
        raise ValueError(f"units must be a positive integer (got {raw!r})")
    return raw


def _currency(raw: object) -> str:
    if raw not in SUPPORTED_CURRENCIES:
        raise ValueError(f"currency {raw!r} is not one of {sorted(SUPPORTED_CURRENCIES)}")
    return str(raw)

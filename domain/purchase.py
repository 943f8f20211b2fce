"""A purchase: one payment from the gateway becoming instrument units for an investor."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.errors import BusinessRuleViolation, PaymentNotAnnounced, PaymentRejected
from domain.investor import InvestorStanding, InvestorStatus
from domain.money import SUPPORTED_CURRENCIES, parse_amount

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class PurchaseStatus(StrEnum):
    DEPOSIT_RECORDED = "DEPOSIT_RECORDED"  # units reserved, settling on the ledger
    COMPENSATING = "COMPENSATING"  # a step failed: undoing, then refunding
    DELIVERED = "DELIVERED"
    REFUNDED = "REFUNDED"
    NEEDS_OPERATOR = "NEEDS_OPERATOR"  # a compensation could not finish: parked

    @property
    def is_final(self) -> bool:
        return self in (PurchaseStatus.DELIVERED, PurchaseStatus.REFUNDED)


class Handling(StrEnum):
    """What an execution does with the purchase its payment names."""

    SETTLE = "SETTLE"  # new (or this execution's own, retried): settle on the ledger
    UNDO = "UNDO"  # a redrive of a purchase that was compensating: finish undoing it
    DUPLICATE = "DUPLICATE"  # another execution owns it, or it is finished: nothing to do


@dataclass(frozen=True)
class InstrumentOffer:
    """An instrument as it is on sale now."""

    instrument_id: str
    is_open: bool
    unit_price: Decimal
    currency: str
    units_available: int
    issuance_id: str | None = None  # the instrument's MPT issuance on the ledger


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


def payment_as_announced(detail: dict[str, Any], announced: Payment | None) -> Payment:
    """The event's payment, if the gateway's authenticated webhook announced exactly it; else
    PaymentNotAnnounced. A bus event alone (forged, or edited on the way) never moves money, and
    is never refunded either: no money came."""
    payment_id = detail.get("payment_id")
    if announced is None:
        raise PaymentNotAnnounced(
            f"payment {str(payment_id)[:64]!r}: no authenticated gateway webhook announced it"
        )
    try:
        payment = Payment.from_event(detail)
    except PaymentRejected as malformed:
        raise PaymentNotAnnounced(f"not the payment announced: {malformed}") from None
    differences = [
        f"{field} {getattr(payment, field)} (announced {getattr(announced, field)})"
        for field in ("payment_id", "investor_id", "instrument_id", "units", "amount", "currency")
        if getattr(payment, field) != getattr(announced, field)
    ]
    if differences:
        raise PaymentNotAnnounced(
            f"payment {payment.payment_id} differs from what the gateway announced: "
            + ", ".join(differences)
        )
    return payment


def is_identifier(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def check_purchase(
    payment: Payment, investor: InvestorStanding | None, instrument: InstrumentOffer | None
) -> None:
    """Raise PaymentRejected, with the reason, unless the payment can buy what it names."""
    if investor is None:
        raise PaymentRejected(f"investor {payment.investor_id} is not registered")
    if investor.status != InvestorStatus.ACTIVE:
        raise PaymentRejected(f"investor {payment.investor_id} is {investor.status.value}")
    if investor.wallet_address is None:
        raise PaymentRejected(f"investor {payment.investor_id} has no wallet yet")
    if instrument is None:
        raise PaymentRejected(f"instrument {payment.instrument_id} is not in the catalogue")
    if not instrument.is_open:
        raise PaymentRejected(f"instrument {payment.instrument_id} is not open for sale")
    if payment.currency != instrument.currency:
        raise PaymentRejected(
            f"paid in {payment.currency}, instrument {payment.instrument_id} is sold in "
            f"{instrument.currency}"
        )
    price = instrument.unit_price * payment.units
    if payment.amount != price:
        raise PaymentRejected(
            f"paid {payment.amount} {payment.currency} for {payment.units} units of "
            f"{payment.instrument_id}, which cost {price} {instrument.currency}"
        )
    if payment.units > instrument.units_available:
        raise PaymentRejected(units_unavailable(payment, instrument.units_available))


def units_unavailable(payment: Payment, available: int) -> str:
    return f"{payment.units} units of {payment.instrument_id} asked, {available} available"


def handling_for(
    status: PurchaseStatus,
    owner_execution: str | None,
    execution: str,
    redrive: bool,
    compensating: bool,
) -> Handling:
    """One execution settles a purchase; a duplicate delivery of its payment does nothing.

    A redrive by an operator takes over an unfinished purchase; if it had begun to undo, it
    goes on undoing, never forward again.
    """
    if status.is_final:
        return Handling.DUPLICATE
    if owner_execution != execution and not redrive:
        return Handling.DUPLICATE
    return Handling.UNDO if compensating else Handling.SETTLE


class PurchaseUndoing(BusinessRuleViolation):
    """The purchase is being undone: it cannot be completed, nor go forward."""


class PurchaseDelivered(BusinessRuleViolation):
    """The purchase was delivered: it is never undone by the saga, nor refunded."""


@dataclass(frozen=True)
class Purchase:
    """A purchase as the platform keeps it (lambdas/records/purchases.py), with the rules of
    how its status may change."""

    purchase_id: str
    payment_id: str
    investor_id: str
    instrument_id: str
    units: int
    amount: str  # as paid, a decimal string ("" for a payment that never became a purchase)
    currency: str
    status: PurchaseStatus
    reason: str | None = None
    issuance_id: str | None = None
    investor_address: str | None = None
    execution_arn: str | None = None  # the execution settling it
    units_held: bool = False  # units reserved on the instrument for it
    compensating: bool = False  # once set, no step goes forward again
    refund_requested: bool = False
    refund_outcome: str | None = None  # the provider's word on the refund: SUCCEEDED or FAILED
    refunded_at: datetime | None = None  # when the provider says it refunded (SUCCEEDED)
    compensation_round: int = 0  # +1 per operator redrive of the undoing
    parked_reason: str | None = None  # why undoing stopped, for the operator
    parked_at_redrive: int = 0  # the execution's RedriveCount when parked
    transactions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    updated_at: datetime | None = None

    def pays_for(self, payment: Payment) -> bool:
        """Whether this purchase is the one the payment made (a conflicting event is not)."""
        return self.payment_id == payment.payment_id and self.amount == str(payment.amount)

    def status_on_takeover(self) -> PurchaseStatus:
        """An operator's redrive: an undoing goes on undoing; a parked purchase that was going
        forward starts again from its deposit."""
        if self.compensating:
            return PurchaseStatus.COMPENSATING
        if self.status == PurchaseStatus.NEEDS_OPERATOR:
            return PurchaseStatus.DEPOSIT_RECORDED
        return self.status

    def redriven_since_parked(self, redrive_count: int) -> bool:
        """A parked purchase whose execution an operator redrove since it was parked: it goes
        back to undoing (Park for operator runs again on a redrive)."""
        return (
            self.status == PurchaseStatus.NEEDS_OPERATOR and redrive_count > self.parked_at_redrive
        )

    def check_may_undo(self, reason: str) -> None:
        if self.status == PurchaseStatus.DELIVERED:
            raise PurchaseDelivered(f"{self.purchase_id} was delivered; not undoing it ({reason})")

    def check_may_refund(self) -> None:
        if self.status == PurchaseStatus.DELIVERED:
            raise PurchaseDelivered(
                f"purchase {self.purchase_id} was delivered; it cannot be refunded"
            )

    def check_may_go_forward(self) -> None:
        if self.compensating:
            raise PurchaseUndoing(f"{self.purchase_id} is being undone")

    def check_may_complete(self) -> None:
        """Completion turns reserved units into sold ones: only while they are still held and
        nothing began to undo the purchase."""
        if self.compensating or not self.units_held:
            raise PurchaseUndoing(f"purchase {self.purchase_id} is being undone: {self.reason}")

    def summary(self) -> dict[str, Any]:
        """What an execution's output and an operator show: the purchase in one object."""
        return {
            "purchase_id": self.purchase_id,
            "payment_id": self.payment_id,
            "investor_id": self.investor_id,
            "instrument_id": self.instrument_id,
            "units": self.units,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status.value,
            "reason": self.reason,
            **({"parked_reason": self.parked_reason} if self.parked_reason else {}),
            **({"refund_outcome": self.refund_outcome} if self.refund_outcome else {}),
            "transactions": {step: dict(details) for step, details in self.transactions.items()},
        }


def purchase_id_for(payment_id: str) -> str:
    """One payment is one purchase: the id is derived, so every redelivery finds the same one.

    Also a valid Step Functions execution name (at most 80 characters, no spaces).
    """
    digest = hashlib.sha256(payment_id.encode()).hexdigest()[:24]
    return f"purchase-{digest}"


def purchase_id_of(task_input: dict[str, Any]) -> str:
    """The purchase a compensation task is about: named, or derived from the payment (which
    may be all there is when the payment was rejected before a purchase existed)."""
    if task_input.get("purchase_id"):
        return str(task_input["purchase_id"])
    payment = task_input.get("payment") or {}
    payment_id = payment.get("payment_id") if isinstance(payment, dict) else None
    return purchase_id_for(str(payment_id or f"event-{task_input.get('event_id', 'unknown')}"))


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
    return identifier(name, detail.get(name))


def identifier(name: str, value: object) -> str:
    """An id from outside (payment, investor, case, instrument): 1-64 of letters, digits, _.:-"""
    if not isinstance(value, str) or not _ID.fullmatch(value):
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


# Failures whose words are the investor's business; any other (a fault of ours, an AWS refusal
# naming roles) stays with the operators.
FAILURES_SHOWN_TO_INVESTORS = frozenset({"PaymentRejected", "InvestorBlocked"})


def reason_shown_to_investor(reason: str | None, status: PurchaseStatus) -> str | None:
    """Why a purchase was undone, as the frontend may show it."""
    if reason is None or reason.split(":", 1)[0] in FAILURES_SHOWN_TO_INVESTORS:
        return reason
    if status is PurchaseStatus.NEEDS_OPERATOR:
        return "the platform could not complete the purchase; an operator is finishing it"
    return "the platform could not complete the purchase"


# The most one payment may buy, in EUR (the only currency sold). A purchase goes through the
# payment gateway's checkout, whose single payments stay well below this; a larger ticket is
# arranged with an operator. Every euro paid is minted as stablecoin before the units move, so
# the maximum also bounds what one mistaken or misused payment (a misplaced decimal point, a
# test payload sent to production) can mint. Checked at the door, before the payment is on
# record: Record deposit takes only payments announced there.
MAX_PURCHASE_AMOUNT = Decimal("100000.00")


def over_purchase_maximum(amount: Decimal, currency: str) -> str | None:
    """Why a payment is over the per-purchase maximum; None if it is within it."""
    if amount <= MAX_PURCHASE_AMOUNT:
        return None
    return (
        f"amount {amount} {currency} is over the per-purchase maximum of "
        f"{MAX_PURCHASE_AMOUNT} {currency}"
    )

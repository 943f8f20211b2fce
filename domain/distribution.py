"""A distribution: what one payment date of an instrument pays each holder of record.

Each holder receives units x (coupon per unit + principal per unit), so the whole distribution
is exactly the per-unit amounts times the units outstanding: no rounding per holder. A holder
who may not receive (an AML block, a locked holding) is not paid: their amount is held in
suspense until an operator reinstates them and runs the distribution again. Before the first
payment the company's stablecoin must cover every amount still owed, held ones included.

The holders and their amounts are fixed once, when the distribution is first taken (its
entitlements); every later run pays from those, each payment once under its business key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain import business_keys
from domain.business_keys import BusinessKey
from domain.cash_flows import CouponPeriod, InstrumentTerms, WriteDown, schedule
from domain.errors import BusinessRuleViolation
from domain.holders import HoldersOfRecord
from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts, SignerRole
from domain.settlement import LedgerTransaction
from domain.withdrawal import IncomePayout

CATCH_UP_DAYS = 7  # a daily run that was missed starts the payment on a later day's run


class DistributionStatus(StrEnum):
    TAKING = "TAKING"  # holders read; their entitlements being kept
    AWAITING_APPROVAL = "AWAITING_APPROVAL"  # an operator approves the totals first
    APPROVED = "APPROVED"  # paying (or set to pay automatically)
    PAID = "PAID"  # every holder paid, or held in suspense


class EntitlementStatus(StrEnum):
    DUE = "DUE"
    HELD = "HELD"  # in suspense: the holder may not receive now
    PAID = "PAID"  # validated on the ledger


class NotAPaymentDate(BusinessRuleViolation):
    """The instrument's schedule has no payment on that date."""


class BadDistributionId(ValueError):
    """Not `<instrument id>:<ISO payment date>`."""


def distribution_id(instrument_id: str, payment_date: date) -> str:
    return f"{instrument_id}:{payment_date.isoformat()}"


def parse_distribution_id(value: str) -> tuple[str, date]:
    instrument_id, _, when = value.rpartition(":")
    try:
        return instrument_id, date.fromisoformat(when)
    except ValueError:
        raise BadDistributionId(f"{value!r} is not <instrument>:<YYYY-MM-DD>") from None


def period_paid_on(
    terms: InstrumentTerms, payment_date: date, write_downs: Sequence[WriteDown] = ()
) -> CouponPeriod:
    for period in schedule(terms, write_downs):
        if period.payment_date == payment_date:
            return period
    raise NotAPaymentDate(f"{terms.instrument_id} pays nothing on {payment_date.isoformat()}")


def is_final(terms: InstrumentTerms, period: CouponPeriod) -> bool:
    return period.accrual_end == terms.maturity


def due_periods(terms: InstrumentTerms, today: date) -> list[CouponPeriod]:
    """Periods whose payment date is today or within the catch-up window before it."""
    earliest = today - timedelta(days=CATCH_UP_DAYS)
    return [p for p in schedule(terms) if earliest <= p.payment_date <= today]


@dataclass(frozen=True)
class HolderPayment:
    """One holder's entitlement on a payment date, and what became of it."""

    investor_id: str
    address: str
    units: int
    coupon: Decimal
    principal: Decimal
    status: EntitlementStatus = EntitlementStatus.DUE
    tx_hash: str | None = None
    ledger_index: int | None = None

    @property
    def amount(self) -> Decimal:
        return self.coupon + self.principal

    @property
    def held(self) -> bool:
        return self.status is EntitlementStatus.HELD

    def paid(self, tx_hash: str, ledger_index: int | None) -> HolderPayment:
        return replace(
            self, status=EntitlementStatus.PAID, tx_hash=tx_hash, ledger_index=ledger_index
        )


@dataclass(frozen=True)
class Distribution:
    instrument_id: str
    payment_date: date
    record_date: date
    ledger_index: int  # the ledger the holders were read from
    coupon_per_unit: Decimal
    principal_per_unit: Decimal
    payments: tuple[HolderPayment, ...]
    at_maturity: bool = False  # the last payment: the units are taken back once paid

    @property
    def distribution_id(self) -> str:
        return distribution_id(self.instrument_id, self.payment_date)

    @property
    def total(self) -> Decimal:
        return total_of(self.payments)

    @property
    def held(self) -> Decimal:
        return total_of(p for p in self.payments if p.held)

    @property
    def units(self) -> int:
        return sum(p.units for p in self.payments)

    def key_for(self, investor_id: str) -> BusinessKey:
        return business_keys.distribution_payment(
            self.instrument_id, self.payment_date, investor_id
        )


@dataclass(frozen=True)
class DistributionState:
    """A distribution as recorded: its totals and where it stands."""

    distribution_id: str
    instrument_id: str
    payment_date: date
    record_date: date
    ledger_index: int
    coupon_per_unit: Decimal
    principal_per_unit: Decimal
    total: Decimal
    holders: int
    units: int
    at_maturity: bool
    status: DistributionStatus
    items_key: str
    approved_by: str | None = None
    awaiting_token: str | None = None  # the workflow's task token while it waits for approval
    report_key: str | None = None

    def summary(self) -> dict[str, Any]:
        """What the workflow carries and an operator reads: no token, no holder."""
        return {
            "distribution_id": self.distribution_id,
            "instrument_id": self.instrument_id,
            "payment_date": self.payment_date.isoformat(),
            "record_date": self.record_date.isoformat(),
            "ledger_index": self.ledger_index,
            "coupon_per_unit": str(self.coupon_per_unit),
            "principal_per_unit": str(self.principal_per_unit),
            "total": str(self.total),
            "holders": self.holders,
            "units": self.units,
            "at_maturity": self.at_maturity,
            "status": self.status.value,
            "approved_by": self.approved_by,
        }


def distribution_for(
    holders: HoldersOfRecord, period: CouponPeriod, at_maturity: bool
) -> Distribution:
    """What the period's payment date pays each holder of record; a locked holding is held."""
    payments = tuple(
        HolderPayment(
            holding.investor_id,
            holding.address,
            holding.units,
            coupon=period.coupon_per_unit * holding.units,
            principal=period.principal_per_unit * holding.units,
            status=EntitlementStatus.HELD if holding.locked else EntitlementStatus.DUE,
        )
        for holding in holders.holdings
    )
    return Distribution(
        holders.instrument_id,
        period.payment_date,
        period.record_date,
        holders.ledger_index,
        period.coupon_per_unit,
        period.principal_per_unit,
        payments,
        at_maturity,
    )


def total_of(payments: Iterable[HolderPayment]) -> Decimal:
    return sum((p.amount for p in payments), Decimal(0))


def still_owed(payments: Iterable[HolderPayment]) -> Decimal:
    """What the company must still pay out: every amount not yet paid, held ones included."""
    return total_of(p for p in payments if p.status is not EntitlementStatus.PAID)


def shortfall(owed: Decimal, company_balance: Decimal) -> Decimal:
    """How much stablecoin the company lacks to pay what is still owed (0: covered)."""
    return max(owed - company_balance, Decimal(0))


def status_on_taking(pays_automatically: bool) -> DistributionStatus:
    return (
        DistributionStatus.APPROVED if pays_automatically else DistributionStatus.AWAITING_APPROVAL
    )


def status_after_run(payments: Sequence[HolderPayment]) -> DistributionStatus:
    """A run ends PAID once nobody is still DUE (the held wait in suspense); a payment that is
    still DUE after the run means the run did not finish: it stays APPROVED."""
    if any(p.status is EntitlementStatus.DUE for p in payments):
        return DistributionStatus.APPROVED
    return DistributionStatus.PAID


def holder_payment(
    distribution: str, payment: HolderPayment, accounts: PlatformAccounts
) -> LedgerTransaction:
    """The company pays the holder their amount of stablecoin, once under its business key."""
    instrument_id, payment_date = parse_distribution_id(distribution)
    return LedgerTransaction(
        business_keys.distribution_payment(instrument_id, payment_date, payment.investor_id),
        SignerRole.COMPANY,
        {
            "TransactionType": "Payment",
            "Account": accounts.company,
            "Destination": payment.address,
            "Amount": {
                "currency": STABLECOIN_CURRENCY,
                "issuer": accounts.issuer,
                "value": str(payment.amount),
            },
        },
    )


def take_back_units(
    distribution: str, payment: HolderPayment, issuance_id: str, accounts: PlatformAccounts
) -> LedgerTransaction:
    """At maturity, once the holder is repaid: the company claws back their units."""
    instrument_id, payment_date = parse_distribution_id(distribution)
    key = business_keys.distribution_payment(instrument_id, payment_date, payment.investor_id)
    return LedgerTransaction(
        business_keys.under(key, "take-back"),
        SignerRole.COMPANY,
        {
            "TransactionType": "Clawback",
            "Account": accounts.company,
            "Holder": payment.address,
            "Amount": {"mpt_issuance_id": issuance_id, "value": str(payment.units)},
        },
    )


def retire_issuance(
    instrument_id: str, issuance_id: str, accounts: PlatformAccounts
) -> LedgerTransaction:
    """The issuance destroyed once no unit of it remains."""
    return LedgerTransaction(
        business_keys.under(f"retire-{instrument_id}", issuance_id),
        SignerRole.COMPANY,
        {
            "TransactionType": "MPTokenIssuanceDestroy",
            "Account": accounts.company,
            "MPTokenIssuanceID": issuance_id,
        },
    )


MAX_COLLECTION_LEAD = timedelta(minutes=5)  # clocks differ; a collection is never in the future


def collection_time_refused(collected_at: datetime, now: datetime) -> str | None:
    """Why a collection's time cannot be taken, or None if it can."""
    if collected_at > now + MAX_COLLECTION_LEAD:
        return f"collected at {collected_at.isoformat()}, after now ({now.isoformat()})"
    return None


def collection_mint(
    collection_id: str, amount: Decimal, accounts: PlatformAccounts
) -> LedgerTransaction:
    """A collection from an SME pool, minted to the company once: what it pays holders with."""
    return LedgerTransaction(
        business_keys.collection(collection_id),
        SignerRole.ISSUER,
        {
            "TransactionType": "Payment",
            "Account": accounts.issuer,
            "Destination": accounts.company,
            "Amount": {
                "currency": STABLECOIN_CURRENCY,
                "issuer": accounts.issuer,
                "value": str(amount),
            },
        },
    )


COUPON_PAID = "CouponPaid"
PRINCIPAL_REPAID = "PrincipalRepaid"


def holder_notifications(
    distribution: str, payment: HolderPayment, income_payout: IncomePayout
) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, notification id, payload) for each cash flow the holder was paid: once each.
    `income_payout` is where the investor chose income to go: only BANK starts the Withdrawal
    workflow (its rule filters on it), so income kept in the wallet costs no execution."""
    if payment.status is not EntitlementStatus.PAID:
        return []
    instrument_id, payment_date = parse_distribution_id(distribution)
    flows = ((COUPON_PAID, payment.coupon), (PRINCIPAL_REPAID, payment.principal))
    return [
        (
            kind,
            f"{kind}#{payment.investor_id}#{distribution}",
            {
                "investor_id": payment.investor_id,
                "instrument_id": instrument_id,
                "payment_date": payment_date.isoformat(),
                "units": payment.units,
                "amount": str(amount),
                "currency": "EUR",
                "tx_hash": payment.tx_hash,
                "income_payout": income_payout.value,
            },
        )
        for kind, amount in flows
        if amount > 0
    ]

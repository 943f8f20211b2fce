"""A distribution: what one payment date of an instrument pays each holder of record.

Each holder receives units x (coupon per unit + principal per unit), so the whole distribution
is exactly the per-unit amounts times the units outstanding: no rounding per holder. A holder
whose units are locked (an AML block) is not paid: their amount is held in suspense until an
operator reinstates them. Before the first payment, the company's stablecoin must cover every
amount, held ones included (they are owed all the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain import business_keys
from domain.business_keys import BusinessKey
from domain.cash_flows import CouponPeriod
from domain.holders import HoldersOfRecord


@dataclass(frozen=True)
class HolderPayment:
    investor_id: str
    address: str
    units: int
    coupon: Decimal
    principal: Decimal
    held: bool  # locked on the ledger: kept in suspense, not paid

    @property
    def amount(self) -> Decimal:
        return self.coupon + self.principal


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
    def total(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal(0))

    @property
    def held(self) -> Decimal:
        return sum((p.amount for p in self.payments if p.held), Decimal(0))

    def key_for(self, investor_id: str) -> BusinessKey:
        return business_keys.distribution_payment(
            self.instrument_id, self.payment_date, investor_id
        )


def distribution_for(
    holders: HoldersOfRecord, period: CouponPeriod, at_maturity: bool
) -> Distribution:
    """What the period's payment date pays each holder of record."""
    payments = tuple(
        HolderPayment(
            holding.investor_id,
            holding.address,
            holding.units,
            coupon=period.coupon_per_unit * holding.units,
            principal=period.principal_per_unit * holding.units,
            held=holding.locked,
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


def shortfall(distribution: Distribution, company_balance: Decimal) -> Decimal:
    """How much stablecoin the company lacks to pay the whole distribution (0: covered)."""
    return max(distribution.total - company_balance, Decimal(0))

"""An investor's holdings of each instrument and their cash flows, past and upcoming.

Past flows are the investor's entitlements as distributions fixed and paid them (with their
transactions); upcoming ones are the schedule's per-unit amounts times the units held now, an
estimate until the record date fixes them. A holding repaid at maturity holds no units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.cash_flows import CouponPeriod
from domain.distribution import EntitlementStatus, HolderPayment
from domain.purchase import Purchase, PurchaseStatus


class FlowStatus(StrEnum):
    PAID = "PAID"  # on the ledger: its transaction says so
    HELD = "HELD"  # in suspense while the holder may not receive
    DUE = "DUE"  # fixed at the record date, not yet paid
    SCHEDULED = "SCHEDULED"  # to come: units now x the schedule's amounts per unit


@dataclass(frozen=True)
class CashFlow:
    payment_date: date
    record_date: date
    coupon: Decimal
    principal: Decimal
    status: FlowStatus
    tx_hash: str | None = None

    @property
    def amount(self) -> Decimal:
        return self.coupon + self.principal


def units_delivered(purchases: Iterable[Purchase]) -> dict[str, int]:
    """Units per instrument the investor's delivered purchases gave them (as the records say)."""
    held: dict[str, int] = {}
    for purchase in purchases:
        if purchase.status is PurchaseStatus.DELIVERED:
            held[purchase.instrument_id] = held.get(purchase.instrument_id, 0) + purchase.units
    return held


def cash_flows(
    units: int,
    periods: Sequence[CouponPeriod],
    fixed: Mapping[date, HolderPayment],
    today: date,
) -> tuple[int, list[CashFlow]]:
    """The units held now (none once repaid at maturity) and each flow: as fixed where a
    distribution fixed it, else scheduled if its payment date is still to come."""
    flows = []
    for period in periods:
        payment = fixed.get(period.payment_date)
        if payment is not None:
            flows.append(_fixed(period, payment))
        elif period.payment_date >= today and units:
            flows.append(
                CashFlow(
                    period.payment_date,
                    period.record_date,
                    period.coupon_per_unit * units,
                    period.principal_per_unit * units,
                    FlowStatus.SCHEDULED,
                )
            )
    repaid = bool(periods) and _repaid(fixed.get(periods[-1].payment_date))
    return (0 if repaid else units), flows


def _fixed(period: CouponPeriod, payment: HolderPayment) -> CashFlow:
    status = {
        EntitlementStatus.PAID: FlowStatus.PAID,
        EntitlementStatus.HELD: FlowStatus.HELD,
        EntitlementStatus.DUE: FlowStatus.DUE,
    }[payment.status]
    return CashFlow(
        period.payment_date,
        period.record_date,
        payment.coupon,
        payment.principal,
        status,
        payment.tx_hash,
    )


def _repaid(final: HolderPayment | None) -> bool:
    return final is not None and final.status is EntitlementStatus.PAID

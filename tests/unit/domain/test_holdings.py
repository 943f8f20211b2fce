"""An investor's cash flows per holding: as distributions fixed and paid them, and upcoming as
scheduled for the units held now."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.cash_flows import schedule, terms_from
from domain.distribution import EntitlementStatus, HolderPayment
from domain.holdings import FlowStatus, cash_flows, units_delivered
from domain.purchase import Purchase, PurchaseStatus

TERMS = terms_from(
    {
        "instrument_id": "SME-2027-A", "unit_price": "100.00", "coupon_rate": "0.05",
        "day_count": "ACT/360", "payments_per_year": 2, "issue_date": "2026-02-20",
        "maturity": "2027-02-20", "business_day_convention": "MODIFIED_FOLLOWING",
    }
)  # fmt: skip
PERIODS = schedule(TERMS)  # paid 2026-08-20 and 2027-02-22 (the 20th is a Saturday)


def purchase(instrument_id: str, units: int, status: PurchaseStatus) -> Purchase:
    return Purchase(
        purchase_id=f"p-{instrument_id}-{units}", payment_id="pay", investor_id="inv-ada",
        instrument_id=instrument_id, units=units, amount=f"{units * 100}.00", currency="EUR",
        status=status,
    )  # fmt: skip


def test_only_delivered_purchases_give_units() -> None:
    bought = [
        purchase("SME-2027-A", 3, PurchaseStatus.DELIVERED),
        purchase("SME-2027-A", 2, PurchaseStatus.DELIVERED),
        purchase("SME-2028-B", 4, PurchaseStatus.REFUNDED),
    ]
    assert units_delivered(bought) == {"SME-2027-A": 5}


def test_past_flows_as_paid_and_upcoming_as_scheduled_for_the_units_now() -> None:
    paid = HolderPayment("inv-ada", "rAda", 3, Decimal("7.53"), Decimal(0)).paid("HASH", 7)
    units, flows = cash_flows(3, PERIODS, {date(2026, 8, 20): paid}, date(2026, 9, 1))
    assert units == 3
    first, second = flows
    assert (first.status, first.amount, first.tx_hash) == (FlowStatus.PAID, Decimal("7.53"), "HASH")
    assert second.status is FlowStatus.SCHEDULED and second.principal == Decimal("300.00")
    assert second.coupon == PERIODS[1].coupon_per_unit * 3


def test_a_held_flow_shows_held_and_a_repaid_holding_holds_nothing() -> None:
    held = HolderPayment("inv-ada", "rAda", 1, Decimal("2.51"), Decimal(0), EntitlementStatus.HELD)
    _, flows = cash_flows(1, PERIODS, {date(2026, 8, 20): held}, date(2026, 9, 1))
    assert [f.status for f in flows] == [FlowStatus.HELD, FlowStatus.SCHEDULED]
    repaid = HolderPayment("inv-ada", "rAda", 1, Decimal("2.53"), Decimal("100.00")).paid("H", 9)
    units, flows = cash_flows(1, PERIODS, {date(2027, 2, 22): repaid}, date(2027, 3, 1))
    assert units == 0 and [f.status for f in flows] == [FlowStatus.PAID]
    assert cash_flows(0, PERIODS, {}, date(2026, 1, 1)) == (0, []), "nothing held, nothing due"

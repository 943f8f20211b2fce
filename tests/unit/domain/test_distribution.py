"""A distribution pays each holder of record units x the per-unit amounts, holds a blocked
holder's amount, and is keyed per holder and payment date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from domain import business_keys
from domain.cash_flows import CouponPeriod
from domain.distribution import distribution_for, shortfall
from domain.holders import HoldersOfRecord, Holding

PERIOD = CouponPeriod(
    accrual_start=date(2026, 12, 15),
    accrual_end=date(2027, 6, 15),
    record_date=date(2027, 6, 14),
    payment_date=date(2027, 6, 15),
    accrual_fraction=Fraction(1, 2),
    outstanding_per_unit=Decimal("100.00"),
    coupon_per_unit=Decimal("2.63"),
    principal_per_unit=Decimal("25.00"),
)


def holders(*holdings: Holding) -> HoldersOfRecord:
    return HoldersOfRecord("SME-2027-A", "00AB", 90, holdings)


def test_each_holder_receives_units_times_the_per_unit_amounts() -> None:
    plan = distribution_for(
        holders(Holding("inv-ada", "rAda", 3), Holding("inv-bob", "rBob", 2, locked=True)),
        PERIOD,
        at_maturity=False,
    )
    ada, bob = plan.payments
    assert (ada.coupon, ada.principal, ada.amount) == (
        Decimal("7.89"),
        Decimal("75.00"),
        Decimal("82.89"),
    )
    assert not ada.held and bob.held and bob.amount == Decimal("55.26")
    assert (plan.total, plan.held) == (Decimal("138.15"), Decimal("55.26"))
    assert (plan.ledger_index, plan.record_date) == (90, date(2027, 6, 14))
    assert plan.key_for("inv-ada") == business_keys.distribution_payment(
        "SME-2027-A", date(2027, 6, 15), "inv-ada"
    )
    assert plan.key_for("inv-ada") == "distribution-SME-2027-A-2027-06-15#inv-ada"
    assert business_keys.subject_of(plan.key_for("inv-bob")) == "distribution-SME-2027-A-2027-06-15"


def test_the_company_must_cover_the_whole_distribution_held_amounts_included() -> None:
    plan = distribution_for(
        holders(Holding("inv-ada", "rAda", 3), Holding("inv-bob", "rBob", 2, locked=True)),
        PERIOD,
        at_maturity=True,
    )
    assert plan.at_maturity
    assert shortfall(plan, Decimal("138.15")) == Decimal(0)
    assert shortfall(plan, Decimal("100.00")) == Decimal("38.15")


@given(units=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=50))
def test_the_sum_over_holders_is_exactly_the_per_unit_amounts_times_the_units(
    units: list[int],
) -> None:
    plan = distribution_for(
        holders(*(Holding(f"inv-{n}", f"r{n}", u) for n, u in enumerate(units))),
        PERIOD,
        at_maturity=False,
    )
    per_unit = PERIOD.coupon_per_unit + PERIOD.principal_per_unit
    assert plan.total == per_unit * sum(units)
    assert all(p.amount == p.amount.quantize(Decimal("0.01")) for p in plan.payments)

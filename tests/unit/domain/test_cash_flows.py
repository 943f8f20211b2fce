"""An instrument's schedule from its terms: periods counted back from maturity, stubs, month
ends, TARGET2 payment and record dates, coupons per unit rounded once, amortization."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.cash_flows import (
    InstrumentTerms,
    TermsError,
    WriteDown,
    coupon_per_unit,
    period_ends,
    schedule,
    schedule_json,
    terms_entry,
    terms_from,
    write_down_refused,
)
from domain.day_count import DayCount, add_months
from domain.instruments import load_catalogue

D = date
TERMS: dict[str, Any] = {
    "instrument_id": "SME-2027-A",
    "unit_price": "100.00",
    "coupon_rate": "0.0525",
    "day_count": "ACT/ACT-ICMA",
    "payments_per_year": 2,
    "issue_date": "2025-12-15",
    "maturity": "2027-12-15",
    "business_day_convention": "MODIFIED_FOLLOWING",
}


def repayment(on: str, principal: str) -> dict[str, str]:
    return {"date": on, "principal_per_unit": principal}


def terms(**changes: Any) -> InstrumentTerms:
    return terms_from({**TERMS, **changes})


def test_a_regular_bond_pays_equal_coupons_and_its_nominal_at_maturity() -> None:
    periods = schedule(terms())
    assert [p.accrual_end for p in periods] == [
        D(2026, 6, 15), D(2026, 12, 15), D(2027, 6, 15), D(2027, 12, 15)
    ]  # fmt: skip
    assert {p.coupon_per_unit for p in periods} == {Decimal("2.63")}  # 2.625, half-up
    assert [p.principal_per_unit for p in periods] == [Decimal("0.00")] * 3 + [Decimal("100.00")]
    assert all(p.accrual_fraction == Fraction(1, 2) for p in periods)


def test_without_a_first_coupon_date_an_issue_off_the_roll_makes_a_short_first_stub() -> None:
    first = schedule(terms(issue_date="2026-01-20"))[0]
    assert (first.accrual_start, first.accrual_end) == (D(2026, 1, 20), D(2026, 6, 15))
    assert first.accrual_fraction == Fraction(146, 2 * 182)  # ICMA: over its notional period
    assert first.coupon_per_unit == Decimal("2.11")


def test_a_long_first_period_up_to_the_first_coupon_date_splits_over_notional_periods() -> None:
    long_first = terms(
        issue_date="2002-08-15",
        first_coupon_date="2003-07-15",
        maturity="2005-07-15",
        coupon_rate="0.10",
    )
    first = schedule(long_first)[0]
    assert (first.accrual_start, first.accrual_end) == (D(2002, 8, 15), D(2003, 7, 15))
    assert f"{float(first.accrual_fraction):.12f}" == "0.915760869565"  # the ISDA example
    assert first.coupon_per_unit == Decimal("9.16")
    assert schedule_json(long_first)["periods"][0]["accrual_fraction"] == "0.915760869565"
    assert first.as_json()["coupon_per_unit"] == "9.16"


def test_a_month_end_maturity_rolls_on_month_ends() -> None:
    quarterly = terms(
        maturity="2028-06-30", issue_date="2026-06-30", payments_per_year=4, day_count="30E/360"
    )
    ends = period_ends(quarterly)
    assert ends[:4] == (D(2026, 9, 30), D(2026, 12, 31), D(2027, 3, 31), D(2027, 6, 30))
    assert D(2028, 3, 31) in ends and D(2028, 2, 29) not in ends
    assert {p.accrual_fraction for p in schedule(quarterly)} == {Fraction(1, 4)}


def test_payment_dates_move_off_target2_closing_days_and_record_dates_precede_them() -> None:
    # A maturity on Easter Monday 2027 is paid on the Tuesday; the record date is the Thursday
    # before Good Friday.
    easter = terms(maturity="2027-03-29", issue_date="2026-03-29", payments_per_year=1)
    last = schedule(easter)[-1]
    assert (last.accrual_end, last.payment_date) == (D(2027, 3, 29), D(2027, 3, 30))
    assert last.record_date == D(2027, 3, 25)
    assert last.accrual_fraction == Fraction(1)  # accrual on unadjusted dates
    kept = terms(
        maturity="2027-03-29",
        issue_date="2026-03-29",
        payments_per_year=1,
        business_day_convention="UNADJUSTED",
    )
    assert schedule(kept)[-1].payment_date == D(2027, 3, 29)


def test_amortization_repays_principal_and_later_coupons_accrue_on_what_is_outstanding() -> None:
    amortizing = terms(amortization=[{"date": "2026-12-15", "principal_per_unit": "25.00"}])
    periods = schedule(amortizing)
    assert [p.outstanding_per_unit for p in periods] == [Decimal(100)] * 2 + [Decimal(75)] * 2
    assert [str(p.principal_per_unit) for p in periods] == ["0.00", "25.00", "0.00", "75.00"]
    assert [str(p.coupon_per_unit) for p in periods] == ["2.63", "2.63", "1.97", "1.97"]


def test_the_catalogue_states_the_terms_of_every_instrument() -> None:
    text = (Path(__file__).parents[3] / "catalogue" / "instruments.json").read_text()
    for instrument in load_catalogue(text):
        periods = schedule(instrument.terms)
        assert periods[0].accrual_start == instrument.terms.issue_date
        assert periods[-1].accrual_end == instrument.maturity
        repaid = sum((p.principal_per_unit for p in periods), Decimal(0))
        assert repaid == instrument.unit_price


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"unit_price": "100.001"}, "unit_price"),
        ({"unit_price": None}, "unit_price"),
        ({"coupon_rate": "5.25"}, "coupon_rate"),
        ({"coupon_rate": 0.05}, "coupon_rate"),
        ({"day_count": "ACT/ACT"}, "day_count"),
        ({"payments_per_year": 3}, "payments_per_year"),
        ({"payments_per_year": True}, "payments_per_year"),
        ({"issue_date": "2025/12/15"}, "issue_date"),
        ({"maturity": "2025-12-01"}, "maturity"),
        ({"maturity": "2027-02-30"}, "maturity"),
        ({"first_coupon_date": "2026-05-15"}, "first_coupon_date"),  # not on the roll
        ({"first_coupon_date": "2025-06-15"}, "first_coupon_date"),  # before issue
        ({"business_day_convention": "PRECEDING"}, "business_day_convention"),
        ({"instrument_id": "bad id"}, "instrument_id"),
        ({"amortization": "25 in 2026"}, "amortization"),
        ({"amortization": [repayment("2026-11-15", "1.00")]}, "amortization[0].date"),
        ({"amortization": [repayment("2026-12-15", "-1")]}, "amortization[0].principal_per_unit"),
        (
            {"amortization": [repayment("2026-12-15", "60"), repayment("2027-06-15", "40")]},
            "amortization",
        ),
    ],
)
def test_bad_terms_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(TermsError) as refused:
        terms(**change)
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")


def test_missing_terms_are_named() -> None:
    for field in ("issue_date", "maturity", "day_count", "payments_per_year", "coupon_rate"):
        with pytest.raises(TermsError, match=f"^{re.escape(field)}: is missing"):
            terms_from({k: v for k, v in TERMS.items() if k != field})


@given(
    cents=st.integers(min_value=0, max_value=10**9),
    rate_bp=st.integers(min_value=0, max_value=9999),
    days=st.integers(min_value=1, max_value=400),
)
def test_the_coupon_is_rounded_half_up_to_the_cent_once(
    cents: int, rate_bp: int, days: int
) -> None:
    outstanding, rate = Decimal(cents) / 100, Decimal(rate_bp) / 10000
    fraction = Fraction(days, 365)
    exact = Fraction(outstanding) * Fraction(rate) * fraction
    coupon = coupon_per_unit(outstanding, rate, fraction)
    assert coupon == coupon.quantize(Decimal("0.01"))
    assert -Fraction(1, 200) < Fraction(coupon) - exact <= Fraction(1, 200)


@given(
    maturity=st.dates(min_value=D(2027, 1, 1), max_value=D(2040, 12, 31)),
    years=st.integers(min_value=1, max_value=7),
    stub_days=st.integers(min_value=0, max_value=200),
    per_year=st.sampled_from([1, 2, 4, 12]),
    day_count=st.sampled_from(list(DayCount)),
)
def test_any_schedule_covers_issue_to_maturity_without_gaps(
    maturity: date, years: int, stub_days: int, per_year: int, day_count: DayCount
) -> None:
    issue = add_months(maturity, -12 * years)
    issue = D.fromordinal(issue.toordinal() + stub_days)
    if issue >= maturity:
        return
    instrument = terms(
        issue_date=issue.isoformat(),
        maturity=maturity.isoformat(),
        payments_per_year=per_year,
        day_count=day_count.value,
    )
    periods = schedule(instrument)
    assert periods[0].accrual_start == issue and periods[-1].accrual_end == maturity
    assert all(a.accrual_end == b.accrual_start for a, b in itertools.pairwise(periods))
    assert all(p.record_date < p.payment_date for p in periods)
    assert sum(p.principal_per_unit for p in periods) == Decimal("100.00")
    assert json.loads(json.dumps(schedule_json(instrument)))["periods"]


def test_terms_written_out_read_back_as_the_same_terms() -> None:
    stub = terms(first_coupon_date="2026-06-15", amortization=[repayment("2026-12-15", "25.00")])
    assert terms_from(terms_entry(stub)) == stub
    assert "first_coupon_date" not in terms_entry(terms()) and "amortization" not in terms_entry(
        terms()
    )


def test_a_write_down_reduces_the_nominal_from_the_period_end_it_falls_in() -> None:
    note = terms(coupon_rate="0.05", day_count="30E/360", payments_per_year=2)
    loss = WriteDown("wd-1", D(2026, 3, 1), Decimal("20.00"), "two SME debtors defaulted")
    before = {p.accrual_end: p for p in schedule(note)}
    after = {p.accrual_end: p for p in schedule(note, [loss])}
    hit = after[D(2026, 6, 15)]  # the period holding 1 March still accrues on 100
    assert hit.coupon_per_unit == before[D(2026, 6, 15)].coupon_per_unit == Decimal("2.50")
    assert hit.written_down_per_unit == Decimal("20.00") and hit.principal_per_unit == 0
    later = after[D(2026, 12, 15)]
    assert later.outstanding_per_unit == Decimal("80.00")
    assert later.coupon_per_unit == Decimal("2.00")  # 80 x 5% x 1/2
    last = after[D(2027, 12, 15)]
    assert last.principal_per_unit == Decimal("80.00"), "the loss is never repaid"
    paid = sum(p.principal_per_unit + p.written_down_per_unit for p in after.values())
    assert paid == Decimal("100.00")


def test_a_write_down_is_refused_with_its_reason() -> None:
    note = terms()
    today = D(2026, 2, 1)
    recorded = [WriteDown("wd-1", D(2026, 3, 1), Decimal("60.00"), "defaults")]

    def refused(**change: Any) -> str | None:
        fields = {"write_down_id": "wd-2", "on": D(2026, 7, 1), "per_unit": Decimal("10.00"),
                  "reason": "more defaults", **change}  # fmt: skip
        return write_down_refused(note, recorded, WriteDown(**fields), today)

    assert refused() is None
    assert refused(write_down_id="wd-1", per_unit=Decimal("99")) is None, "recorded already"
    assert refused(reason=" ") == "a write-down needs its reason"
    assert "positive amount in cents" in str(refused(per_unit=Decimal("1.001")))
    assert "must be from today" in str(refused(on=D(2026, 1, 15)))
    assert "must be from today" in str(refused(on=D(2028, 1, 1)))
    assert "more than the 40.00 per unit outstanding" in str(refused(per_unit=Decimal("40.01")))

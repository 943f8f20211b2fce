"""Day count fractions against the conventions' published definitions and examples: the 2006
ISDA Definitions 4.16 (d), (e), (g) and ICMA Rule 251 (ISDA, "The Actual/Actual Day Count
Fraction", 1999: its Actual/Actual (ICMA) examples)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.day_count import DayCount, accrual_fraction, add_months, is_month_end, thirty_e_360

D = date


def fraction(convention: DayCount, start: date, end: date, per_year: int = 1) -> Fraction:
    return accrual_fraction(convention, start, end, per_year, regular_end=end)


@pytest.mark.parametrize(
    ("start", "end", "per_year", "expected"),
    [
        # (1) regular semi-annual period: always 1/2, whatever its days
        (D(2003, 11, 1), D(2004, 5, 1), 2, "0.500000000000"),
        # (2) short first period, annual: 150 days of the notional 1998-07-01..1999-07-01 (365)
        (D(1999, 2, 1), D(1999, 7, 1), 1, "0.410958904110"),
        # ... and the regular period after it
        (D(1999, 7, 1), D(2000, 7, 1), 1, "1.000000000000"),
        # (3) long first period, semi-annual: 153/(2 x 184) + 181/(2 x 181)
        (D(2002, 8, 15), D(2003, 7, 15), 2, "0.915760869565"),
        (D(2003, 7, 15), D(2004, 1, 15), 2, "0.500000000000"),
    ],
)
def test_act_act_icma_matches_the_isda_examples(
    start: date, end: date, per_year: int, expected: str
) -> None:
    value = fraction(DayCount.ACT_ACT_ICMA, start, end, per_year)
    assert f"{float(value):.12f}" == expected


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (D(2007, 1, 15), D(2007, 1, 30), 15),
        (D(2007, 1, 15), D(2007, 2, 15), 30),
        (D(2007, 1, 15), D(2007, 7, 15), 180),
        (D(2007, 9, 30), D(2008, 3, 31), 180),  # a 31st counts as the 30th at the end
        (D(2007, 9, 30), D(2007, 10, 31), 30),
        (D(2007, 1, 31), D(2007, 2, 28), 28),  # ... and at the start; February as it is
        (D(2007, 2, 28), D(2007, 3, 31), 32),
        (D(2006, 8, 31), D(2007, 2, 28), 178),
        (D(2007, 2, 26), D(2008, 2, 29), 363),
        (D(2008, 2, 29), D(2009, 2, 28), 359),
        (D(2008, 2, 29), D(2008, 3, 31), 31),
        (D(2007, 8, 31), D(2008, 2, 29), 179),
        (D(2008, 8, 31), D(2009, 2, 28), 178),
    ],
)
def test_30e_360_counts_as_the_eurobond_basis_defines(start: date, end: date, days: int) -> None:
    assert thirty_e_360(start, end) == Fraction(days, 360)
    assert fraction(DayCount.THIRTY_E_360, start, end) == Fraction(days, 360)


def test_act_360_and_act_365_fixed_count_actual_days() -> None:
    start, end = D(2007, 1, 15), D(2007, 7, 15)  # 181 days
    assert fraction(DayCount.ACT_360, start, end) == Fraction(181, 360)
    assert fraction(DayCount.ACT_365F, start, end) == Fraction(181, 365)
    leap = (D(2024, 1, 1), D(2025, 1, 1))  # 366 days: Fixed keeps 365
    assert fraction(DayCount.ACT_365F, *leap) == Fraction(366, 365)


def test_a_period_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="ends after it starts"):
        fraction(DayCount.ACT_360, D(2026, 1, 1), D(2026, 1, 1))


def test_months_roll_to_the_month_end_when_the_schedule_does() -> None:
    assert add_months(D(2027, 12, 15), -6) == D(2027, 6, 15)
    assert add_months(D(2028, 6, 30), -4) == D(2028, 2, 29)  # clamped to February's end
    assert add_months(D(2028, 6, 30), -3, end_of_month=True) == D(2028, 3, 31)
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert is_month_end(D(2028, 2, 29)) and not is_month_end(D(2028, 2, 28))


@given(
    end=st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31)),
    per_year=st.sampled_from([1, 2, 4, 12]),
)
def test_every_regular_icma_period_counts_one_over_the_payments_per_year(
    end: date, per_year: int
) -> None:
    start = add_months(end, -12 // per_year, is_month_end(end))
    assert fraction(DayCount.ACT_ACT_ICMA, start, end, per_year) == Fraction(1, per_year)

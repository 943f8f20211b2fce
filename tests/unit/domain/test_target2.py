"""The TARGET2 calendar as the ECB publishes its closing days, and the business-day
conventions that move a payment date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.target2 import (
    BusinessDayConvention,
    adjusted,
    easter_sunday,
    is_business_day,
    previous_business_day,
)

D = date


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2000, D(2000, 4, 23)),
        (2008, D(2008, 3, 23)),
        (2011, D(2011, 4, 24)),
        (2024, D(2024, 3, 31)),
        (2025, D(2025, 4, 20)),
        (2026, D(2026, 4, 5)),
        (2027, D(2027, 3, 28)),
        (2038, D(2038, 4, 25)),  # the latest possible
        (2285, D(2285, 3, 22)),  # the earliest possible
    ],
)
def test_easter_is_the_western_one(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_the_closing_days_of_2026_are_those_the_ecb_publishes() -> None:
    closed = {
        day
        for n in range(365)
        if (day := D(2026, 1, 1) + timedelta(days=n)).weekday() < 5 and not is_business_day(day)
    }
    # New Year's Day, Good Friday, Easter Monday, Labour Day, Christmas Day, 26 December
    assert closed == {D(2026, 1, 1), D(2026, 4, 3), D(2026, 4, 6), D(2026, 5, 1), D(2026, 12, 25)}
    assert not is_business_day(D(2026, 12, 26))  # a Saturday as well
    assert not is_business_day(D(2026, 3, 7)) and is_business_day(D(2026, 3, 6))


@pytest.mark.parametrize(
    ("scheduled", "convention", "paid"),
    [
        (D(2026, 6, 15), BusinessDayConvention.MODIFIED_FOLLOWING, D(2026, 6, 15)),  # a Monday
        (D(2026, 5, 31), BusinessDayConvention.FOLLOWING, D(2026, 6, 1)),
        (D(2026, 5, 31), BusinessDayConvention.MODIFIED_FOLLOWING, D(2026, 5, 29)),
        (D(2026, 5, 31), BusinessDayConvention.UNADJUSTED, D(2026, 5, 31)),
        (D(2026, 4, 3), BusinessDayConvention.FOLLOWING, D(2026, 4, 7)),  # past Easter Monday
        (D(2026, 4, 3), BusinessDayConvention.MODIFIED_FOLLOWING, D(2026, 4, 7)),
        (D(2027, 12, 25), BusinessDayConvention.FOLLOWING, D(2027, 12, 27)),
        (D(2027, 1, 1), BusinessDayConvention.MODIFIED_FOLLOWING, D(2027, 1, 4)),
    ],
)
def test_a_payment_date_moves_by_its_convention(
    scheduled: date, convention: BusinessDayConvention, paid: date
) -> None:
    assert adjusted(scheduled, convention) == paid


def test_the_record_date_is_the_business_day_before() -> None:
    assert previous_business_day(D(2026, 4, 7)) == D(2026, 4, 2)  # over Easter
    assert previous_business_day(D(2026, 6, 15)) == D(2026, 6, 12)  # over a weekend
    assert previous_business_day(D(2027, 1, 4)) == D(2026, 12, 31)

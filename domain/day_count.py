"""Day count conventions: the fraction of a year an accrual period counts for.

Definitions are the 2006 ISDA Definitions, section 4.16 ((d) Actual/365 (Fixed), (e)
Actual/360, (g) 30E/360 (Eurobond basis)), and ICMA Rule 251 for Actual/Actual (ICMA): days in
the period over (payments per year x days in the reference period), each part of an irregular
period over the notional reference period it falls in. Fractions are exact (Fraction), so the
coupon is rounded once, at the end.
"""

from __future__ import annotations

import calendar
from datetime import date
from enum import StrEnum
from fractions import Fraction


class DayCount(StrEnum):
    ACT_360 = "ACT/360"
    ACT_365F = "ACT/365F"
    THIRTY_E_360 = "30E/360"
    ACT_ACT_ICMA = "ACT/ACT-ICMA"


def add_months(day: date, months: int, end_of_month: bool = False) -> date:
    """The same day `months` later (or earlier), on the last day of a shorter month; with
    end_of_month, always the last day of the month (a schedule rolling from a month's end)."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, last if end_of_month else min(day.day, last))


def is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def accrual_fraction(
    convention: DayCount, start: date, end: date, payments_per_year: int, regular_end: date
) -> Fraction:
    """The year fraction of [start, end). For ACT/ACT-ICMA the reference periods are the
    schedule's regular periods, rolled back from `regular_end` (the period's end on the regular
    schedule) every 12 / payments_per_year months."""
    if end <= start:
        raise ValueError(f"an accrual period ends after it starts ({start} .. {end})")
    if convention is DayCount.ACT_360:
        return Fraction((end - start).days, 360)
    if convention is DayCount.ACT_365F:
        return Fraction((end - start).days, 365)
    if convention is DayCount.THIRTY_E_360:
        return thirty_e_360(start, end)
    return _act_act_icma(start, end, payments_per_year, regular_end)


def thirty_e_360(start: date, end: date) -> Fraction:
    """30E/360 (Eurobond basis): a 31st counts as the 30th, at either end; February as it is."""
    d1, d2 = min(start.day, 30), min(end.day, 30)
    days = 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)
    return Fraction(days, 360)


def _act_act_icma(start: date, end: date, payments_per_year: int, regular_end: date) -> Fraction:
    months = 12 // payments_per_year
    end_of_month = is_month_end(regular_end)
    fraction = Fraction(0)
    notional_end, rolls = regular_end, 0
    while notional_end > start:
        rolls += 1
        notional_start = add_months(regular_end, -months * rolls, end_of_month)
        overlap = (min(end, notional_end) - max(start, notional_start)).days
        if overlap > 0:
            reference_days = (notional_end - notional_start).days
            fraction += Fraction(overlap, payments_per_year * reference_days)
        notional_end = notional_start
    return fraction

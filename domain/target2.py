"""The TARGET2 calendar (the euro's settlement days) and the business-day conventions that move
a payment date off a closing day.

TARGET2 is closed on Saturdays, Sundays, New Year's Day, Good Friday, Easter Monday, Labour Day
(1 May), Christmas Day and 26 December (ECB, "TARGET2 closing days", unchanged since 2002).
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

_FIXED_CLOSINGS = ((1, 1), (5, 1), (12, 25), (12, 26))


class BusinessDayConvention(StrEnum):
    FOLLOWING = "FOLLOWING"  # the next business day
    MODIFIED_FOLLOWING = "MODIFIED_FOLLOWING"  # ... unless in the next month: the one before
    UNADJUSTED = "UNADJUSTED"  # the date as it is, business day or not


def easter_sunday(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday_offset = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_offset) // 451
    month = (h + weekday_offset - 7 * m + 114) // 31
    day = (h + weekday_offset - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def is_business_day(day: date) -> bool:
    """Whether TARGET2 settles on this day."""
    if day.weekday() >= 5 or (day.month, day.day) in _FIXED_CLOSINGS:
        return False
    easter = easter_sunday(day.year)
    return day not in (easter - timedelta(days=2), easter + timedelta(days=1))


def adjusted(day: date, convention: BusinessDayConvention) -> date:
    """The payment date for a scheduled date, under the convention."""
    if convention is BusinessDayConvention.UNADJUSTED or is_business_day(day):
        return day
    following = _next_business_day(day)
    if convention is BusinessDayConvention.MODIFIED_FOLLOWING and following.month != day.month:
        return previous_business_day(day)
    return following


def previous_business_day(day: date) -> date:
    """The last TARGET2 business day strictly before `day`."""
    before = day - timedelta(days=1)
    while not is_business_day(before):
        before -= timedelta(days=1)
    return before


def _next_business_day(day: date) -> date:
    after = day + timedelta(days=1)
    while not is_business_day(after):
        after += timedelta(days=1)
    return after

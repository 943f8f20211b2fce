"""An instrument's terms and the cash flows they give: each coupon period's dates, its accrual
fraction, and the coupon and principal per unit.

Accrual periods run on unadjusted dates, counted back from maturity every 12 / payments_per_year
months (from a month's end, on month ends); the first may be a stub, up to a first coupon date
on that roll. The payment date is the period's end moved by the business-day convention on the
TARGET2 calendar; the record date is the TARGET2 business day before it. The coupon per unit is
the outstanding nominal per unit x rate x accrual fraction, rounded half-up to the cent once
("per calculation amount", as euro bond terms state it), so a holder of n units receives exactly
n x that amount and the sum over holders is exact. Amortization repays principal per unit on
period ends; what remains is repaid at maturity; later coupons accrue on what is outstanding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from domain.day_count import DayCount, accrual_fraction, add_months, is_month_end
from domain.money import CENT, parse_amount
from domain.target2 import BusinessDayConvention, adjusted, previous_business_day

PAYMENTS_PER_YEAR = (1, 2, 4, 12)
FRACTION_PLACES = Decimal("1e-12")
_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class TermsError(ValueError):
    """An instrument's terms are not valid: the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Amortization:
    """Principal repaid per unit on a coupon date before maturity."""

    on: date
    principal_per_unit: Decimal


@dataclass(frozen=True)
class WriteDown:
    """A credit loss on the SME pool: the nominal per unit reduced without payment. It takes
    effect at the first period end on or after `on`: that period's coupon still accrues on the
    nominal before it, later coupons and the principal at maturity on what remains."""

    write_down_id: str
    on: date
    per_unit: Decimal
    reason: str

    def as_json(self) -> dict[str, str]:
        return {
            "write_down_id": self.write_down_id,
            "on": self.on.isoformat(),
            "per_unit": str(self.per_unit),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class InstrumentTerms:
    instrument_id: str
    unit_price: Decimal  # the nominal per unit at issue
    coupon_rate: Decimal  # a fraction: 0.0525 is 5.25% a year
    day_count: DayCount
    payments_per_year: int
    issue_date: date
    maturity: date
    business_day_convention: BusinessDayConvention
    first_coupon_date: date | None = None
    amortization: tuple[Amortization, ...] = ()


@dataclass(frozen=True)
class CouponPeriod:
    accrual_start: date
    accrual_end: date
    record_date: date
    payment_date: date
    accrual_fraction: Fraction
    outstanding_per_unit: Decimal  # the nominal the coupon accrues on
    coupon_per_unit: Decimal
    principal_per_unit: Decimal
    written_down_per_unit: Decimal = Decimal(0)  # lost at this period's end, never paid

    def as_json(self) -> dict[str, str]:
        fraction = Decimal(self.accrual_fraction.numerator) / self.accrual_fraction.denominator
        return {
            "accrual_start": self.accrual_start.isoformat(),
            "accrual_end": self.accrual_end.isoformat(),
            "record_date": self.record_date.isoformat(),
            "payment_date": self.payment_date.isoformat(),
            "accrual_fraction": str(fraction.quantize(FRACTION_PLACES, ROUND_HALF_EVEN)),
            "coupon_per_unit": str(self.coupon_per_unit),
            "principal_per_unit": str(self.principal_per_unit),
        }


def coupon_per_unit(outstanding: Decimal, rate: Decimal, fraction: Fraction) -> Decimal:
    """outstanding x rate x fraction, rounded half-up to the cent, exactly."""
    cents = Fraction(outstanding) * Fraction(rate) * fraction * 100
    rounded = (cents.numerator * 2 + cents.denominator) // (cents.denominator * 2)
    return (Decimal(rounded) * CENT).quantize(CENT)


def schedule(
    terms: InstrumentTerms, write_downs: Sequence[WriteDown] = ()
) -> tuple[CouponPeriod, ...]:
    """Every coupon period of the instrument, first to last, after any write-downs."""
    ends = period_ends(terms)
    repaid = {a.on: a.principal_per_unit for a in terms.amortization}
    outstanding = terms.unit_price
    periods = []
    for start, end in zip((terms.issue_date, *ends), ends, strict=False):
        fraction = accrual_fraction(
            terms.day_count, start, end, terms.payments_per_year, regular_end=end
        )
        lost = sum((w.per_unit for w in write_downs if start < w.on <= end), Decimal(0))
        lost = min(lost, outstanding)
        due = outstanding - lost if end == terms.maturity else repaid.get(end, Decimal(0))
        principal = min(due, outstanding - lost)
        payment_date = adjusted(end, terms.business_day_convention)
        periods.append(
            CouponPeriod(
                accrual_start=start,
                accrual_end=end,
                record_date=previous_business_day(payment_date),
                payment_date=payment_date,
                accrual_fraction=fraction,
                outstanding_per_unit=outstanding,
                coupon_per_unit=coupon_per_unit(outstanding, terms.coupon_rate, fraction),
                principal_per_unit=principal.quantize(CENT),
                written_down_per_unit=lost,
            )
        )
        outstanding -= principal + lost
    return tuple(periods)


def write_down_refused(
    terms: InstrumentTerms, recorded: Sequence[WriteDown], new: WriteDown, today: date
) -> str | None:
    """Why a write-down cannot be recorded (None: it can). It is effective from today or
    later (a payment already taken keeps its amounts), within the instrument's life, in cents,
    with a reason, and never more than the nominal then outstanding."""
    if any(w.write_down_id == new.write_down_id for w in recorded):
        return None  # recorded already: recording it again changes nothing
    if not new.reason.strip():
        return "a write-down needs its reason"
    if new.per_unit <= 0 or new.per_unit != new.per_unit.quantize(CENT):
        return f"per_unit {new.per_unit} must be a positive amount in cents"
    if not today <= new.on <= terms.maturity or new.on <= terms.issue_date:
        return f"effective {new.on}: must be from today ({today}) to maturity ({terms.maturity})"
    before = {p.accrual_end: p for p in schedule(terms, recorded)}
    period = next(p for p in before.values() if p.accrual_start < new.on <= p.accrual_end)
    remaining = period.outstanding_per_unit - period.written_down_per_unit
    remaining -= (
        _repaid_on(terms, period.accrual_end) if period.accrual_end != terms.maturity else 0
    )
    if new.per_unit > remaining:
        return f"per_unit {new.per_unit} is more than the {remaining} per unit outstanding"
    return None


def _repaid_on(terms: InstrumentTerms, end: date) -> Decimal:
    return next((a.principal_per_unit for a in terms.amortization if a.on == end), Decimal(0))


def period_ends(terms: InstrumentTerms) -> tuple[date, ...]:
    """The unadjusted end of each period: the roll back from maturity, down to the first
    coupon date (or to the first date after issue)."""
    first = terms.first_coupon_date
    ends = [
        d
        for d in _rolls(terms.maturity, terms.payments_per_year, terms.issue_date)
        if d > terms.issue_date and (first is None or d >= first)
    ]
    return tuple(sorted(ends))


def schedule_json(terms: InstrumentTerms) -> dict[str, Any]:
    return {
        "instrument_id": terms.instrument_id,
        "periods": [period.as_json() for period in schedule(terms)],
    }


def _rolls(maturity: date, payments_per_year: int, down_to: date) -> list[date]:
    """maturity, and every date 12 / payments_per_year months before it, down to `down_to`."""
    months = 12 // payments_per_year
    end_of_month = is_month_end(maturity)
    rolls, k = [maturity], 1
    while rolls[-1] > down_to:
        rolls.append(add_months(maturity, -months * k, end_of_month))
        k += 1
    return rolls


# --- terms from their description -----------------------------------------------------------


def terms_from(entry: Mapping[str, Any]) -> InstrumentTerms:
    """The terms described by an instrument's JSON fields; TermsError naming the first field
    that is missing or wrong."""
    if not isinstance(entry, Mapping):
        raise TermsError("instrument", "must be a JSON object")
    issue_date = _date(_required(entry, "issue_date"), "issue_date")
    maturity = _date(_required(entry, "maturity"), "maturity")
    if maturity <= issue_date:
        raise TermsError("maturity", f"{maturity} is not after the issue date {issue_date}")
    payments = _payments_per_year(entry)
    terms = InstrumentTerms(
        instrument_id=_instrument_id(entry),
        unit_price=_amount(_required(entry, "unit_price"), "unit_price"),
        coupon_rate=_rate(entry),
        day_count=_choice(entry, "day_count", DayCount),
        payments_per_year=payments,
        issue_date=issue_date,
        maturity=maturity,
        business_day_convention=_choice(entry, "business_day_convention", BusinessDayConvention),
        first_coupon_date=_first_coupon_date(entry, issue_date, maturity, payments),
    )
    amortization = _amortization(entry.get("amortization"), terms)
    return InstrumentTerms(**{**terms.__dict__, "amortization": amortization})


def terms_entry(terms: InstrumentTerms) -> dict[str, Any]:
    """The terms as the JSON fields `terms_from` reads back."""
    entry: dict[str, Any] = {
        "instrument_id": terms.instrument_id,
        "unit_price": str(terms.unit_price),
        "coupon_rate": str(terms.coupon_rate),
        "day_count": terms.day_count.value,
        "payments_per_year": terms.payments_per_year,
        "issue_date": terms.issue_date.isoformat(),
        "maturity": terms.maturity.isoformat(),
        "business_day_convention": terms.business_day_convention.value,
    }
    if terms.first_coupon_date is not None:
        entry["first_coupon_date"] = terms.first_coupon_date.isoformat()
    if terms.amortization:
        entry["amortization"] = [
            {"date": a.on.isoformat(), "principal_per_unit": str(a.principal_per_unit)}
            for a in terms.amortization
        ]
    return entry


def _required(entry: Mapping[str, Any], field: str) -> Any:
    if entry.get(field) is None:
        raise TermsError(field, "is missing")
    return entry[field]


def _instrument_id(entry: Mapping[str, Any]) -> str:
    value = _required(entry, "instrument_id")
    if not isinstance(value, str) or not _ID.match(value):
        raise TermsError("instrument_id", f"{value!r} must be 3-32 of A-Z, 0-9, -")
    return value


def _date(value: object, field: str) -> date:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise TermsError(field, f"{value!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise TermsError(field, f"{value!r} is not a date: {error}") from None


def _amount(value: object, field: str) -> Decimal:
    try:
        return parse_amount(value)
    except ValueError as error:
        raise TermsError(field, str(error)) from None


def _rate(entry: Mapping[str, Any]) -> Decimal:
    value = _required(entry, "coupon_rate")
    try:
        rate = Decimal(value) if isinstance(value, (str, int)) and value is not True else None
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or not Decimal(0) <= rate < Decimal(1):
        raise TermsError("coupon_rate", f'{value!r} must be a decimal fraction, e.g. "0.0525"')
    return rate


def _choice(entry: Mapping[str, Any], field: str, kinds: type[Any]) -> Any:
    value = _required(entry, field)
    try:
        return kinds(value)
    except ValueError:
        allowed = ", ".join(k.value for k in kinds)
        raise TermsError(field, f"{value!r} is not one of {allowed}") from None


def _payments_per_year(entry: Mapping[str, Any]) -> int:
    value = _required(entry, "payments_per_year")
    if isinstance(value, bool) or value not in PAYMENTS_PER_YEAR:
        raise TermsError("payments_per_year", f"{value!r} is not one of 1, 2, 4, 12")
    return int(value)


def _first_coupon_date(
    entry: Mapping[str, Any], issue_date: date, maturity: date, payments: int
) -> date | None:
    if entry.get("first_coupon_date") is None:
        return None
    first = _date(entry["first_coupon_date"], "first_coupon_date")
    if not issue_date < first <= maturity:
        raise TermsError("first_coupon_date", f"{first} is not after issue and by maturity")
    if first not in _rolls(maturity, payments, first):
        raise TermsError(
            "first_coupon_date",
            f"{first} is not a coupon date counted back from maturity {maturity}",
        )
    return first


def _amortization(raw: object, terms: InstrumentTerms) -> tuple[Amortization, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise TermsError("amortization", "must be a list of {date, principal_per_unit}")
    ends = set(period_ends(terms)) - {terms.maturity}
    repayments = []
    for n, item in enumerate(raw):
        field = f"amortization[{n}]"
        if not isinstance(item, Mapping):
            raise TermsError(field, "must be an object {date, principal_per_unit}")
        on = _date(item.get("date"), f"{field}.date")
        if on not in ends:
            raise TermsError(f"{field}.date", f"{on} is not a coupon date before maturity")
        principal = _amount(item.get("principal_per_unit"), f"{field}.principal_per_unit")
        repayments.append(Amortization(on, principal))
    if len({a.on for a in repayments}) != len(repayments):
        raise TermsError("amortization", "two repayments on one date")
    if sum((a.principal_per_unit for a in repayments), Decimal(0)) >= terms.unit_price:
        raise TermsError("amortization", "repays the whole nominal before maturity")
    return tuple(sorted(repayments, key=lambda a: a.on))

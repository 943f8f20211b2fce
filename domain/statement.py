"""An investor's statement for a period (a month, a quarter, a year): what they held at its
bounds, as the ledger shows it, and every line between, each with its date and transaction.

The lines come from the records; what they change in the wallet (coupons, principal,
withdrawals and their returns; units bought, taken back, redeemed) must tie the opening
holdings to the closing ones, read from the ledger at the period's bounds. A statement that
does not tie says where, and never hides it. Purchases and refunds move money through the
payment provider, not the wallet: they are lines with no effect on its stablecoin.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.bookings import Validated, validated
from domain.distribution import EntitlementStatus, HolderPayment
from domain.purchase import Purchase
from domain.settlement import Step
from domain.withdrawal import Withdrawal

_PERIOD = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")


class PeriodRefused(ValueError):
    """Not a period a statement covers."""


@dataclass(frozen=True)
class Period:
    name: str  # "2026-11", "2026-Q4", "2026"
    start: date
    end: date  # the first day after it

    @classmethod
    def parse(cls, text: str) -> Period:
        found = _PERIOD.match(text)
        if found is None:
            raise PeriodRefused(
                f"{text!r}: a month (2026-11), a quarter (2026-Q4) or a year (2026)"
            )
        year, month, quarter = int(found[1]), found[2], found[3]
        if month:
            first, months = int(month), 1
        elif quarter:
            first, months = 3 * int(quarter) - 2, 3
        else:
            first, months = 1, 12
        return cls(text, date(year, first, 1), _months_after(date(year, first, 1), months))

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time(0), UTC)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.end, time(0), UTC)


def _months_after(day: date, months: int) -> date:
    total = day.month - 1 + months
    return date(day.year + total // 12, total % 12 + 1, 1)


def periods_ended_on(day: date) -> list[Period]:
    """The periods whose end is `day` (their first day after): the month always, the quarter
    in January, April, July and October, the year in January."""
    last = _months_after(day.replace(day=1), -1) if day.day == 1 else None
    if last is None:
        return []
    ended = [Period.parse(f"{last.year}-{last.month:02d}")]
    if day.month in (1, 4, 7, 10):
        ended.append(Period.parse(f"{last.year}-Q{(last.month - 1) // 3 + 1}"))
    if day.month == 1:
        ended.append(Period.parse(str(last.year)))
    return ended


def periods_asked(request: Mapping[str, Any], now: datetime) -> list[Period]:
    """The periods a run of the statements workflow makes documents for: the one asked for
    (`period`), or those ended on the schedule's day (`scheduled_at`, UTC). Only ended
    periods: a document kept for a period to date would change under its reader."""
    if request.get("period") is not None:
        asked = [Period.parse(str(request["period"]))]
    elif request.get("scheduled_at") is not None:
        try:
            moment = datetime.fromisoformat(str(request["scheduled_at"]))
        except ValueError:
            raise PeriodRefused(f"scheduled_at {request['scheduled_at']!r} is not a time") from None
        if moment.tzinfo is None:
            raise PeriodRefused(f"scheduled_at {request['scheduled_at']!r} has no time zone")
        asked = periods_ended_on(moment.astimezone(UTC).date())
    else:
        raise PeriodRefused("ask for a period (2026-11, 2026-Q4, 2026) or give scheduled_at")
    for period in asked:
        if period.ends_at > now:
            raise PeriodRefused(f"{period.name} has not ended: its statement is to date only")
    return asked


class LineKind(StrEnum):
    PURCHASE = "PURCHASE"  # units delivered, paid through the provider
    TAKEN_BACK = "TAKEN_BACK"  # units of an undone purchase
    REFUND = "REFUND"  # paid back through the provider
    COUPON = "COUPON"
    PRINCIPAL = "PRINCIPAL"
    REDEEMED = "REDEEMED"  # units taken back at maturity, once repaid
    HELD = "HELD"  # a payment kept in suspense while the holder may not receive
    WITHDRAWAL = "WITHDRAWAL"  # stablecoin redeemed for a payout to the bank
    WITHDRAWAL_RETURNED = "WITHDRAWAL_RETURNED"  # back in the wallet: the payout did not happen


# How each kind of line changes the wallet's stablecoin (the rest move none).
WALLET_SIGN = {
    LineKind.COUPON: 1, LineKind.PRINCIPAL: 1, LineKind.WITHDRAWAL: -1,
    LineKind.WITHDRAWAL_RETURNED: 1,
}  # fmt: skip


@dataclass(frozen=True)
class Line:
    on: datetime | None  # the ledger's close time (None for a line with no transaction)
    kind: LineKind
    reference: str  # the purchase, distribution or withdrawal
    amount: Decimal  # the money involved, never negative
    instrument_id: str | None = None
    units: int = 0  # the change in units held
    tx_hash: str | None = None
    ledger_index: int | None = None

    @property
    def stablecoin_change(self) -> Decimal:
        return WALLET_SIGN.get(self.kind, 0) * self.amount

    def as_json(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat() if self.on else None, "kind": self.kind.value,
            "reference": self.reference, "instrument_id": self.instrument_id,
            "units": self.units, "amount": str(self.amount),
            "stablecoin_change": str(self.stablecoin_change), "tx_hash": self.tx_hash,
            "ledger_index": self.ledger_index,
        }  # fmt: skip


@dataclass(frozen=True)
class Position:
    """Holdings in one validated ledger."""

    ledger_index: int
    at: datetime | None
    stablecoin: Decimal
    units: Mapping[str, int] = field(default_factory=dict)  # instrument -> units

    def as_json(self) -> dict[str, Any]:
        return {
            "ledger_index": self.ledger_index, "at": self.at.isoformat() if self.at else None,
            "stablecoin": str(self.stablecoin),
            "units": {k: v for k, v in sorted(self.units.items()) if v},
        }  # fmt: skip


@dataclass(frozen=True)
class Window:
    """The ledgers a statement's lines come from: after the opening one, up to the closing one."""

    after: int
    upto: int

    def holds(self, done: Validated | None) -> bool:
        return done is not None and self.after < done.ledger_index <= self.upto


ClosedAt = Callable[[int], datetime]

TOTALS = (
    LineKind.PURCHASE, LineKind.REFUND, LineKind.COUPON, LineKind.PRINCIPAL,
    LineKind.WITHDRAWAL, LineKind.WITHDRAWAL_RETURNED, LineKind.HELD,
)  # fmt: skip


@dataclass(frozen=True)
class Statement:
    investor_id: str
    period: Period
    opening: Position
    closing: Position
    lines: tuple[Line, ...]

    def totals(self) -> dict[str, Decimal]:
        return {
            kind.value.lower(): sum((x.amount for x in self.lines if x.kind is kind), Decimal(0))
            for kind in TOTALS
        }

    def untied(self) -> list[str]:
        """Where the lines do not carry the opening holdings to the closing ones (none: the
        statement ties to the ledger)."""
        problems = []
        moved = sum((x.stablecoin_change for x in self.lines), Decimal(0))
        if self.opening.stablecoin + moved != self.closing.stablecoin:
            problems.append(
                f"stablecoin: {self.opening.stablecoin} + {moved} is not "
                f"{self.closing.stablecoin} on the ledger"
            )
        for instrument in sorted({*self.opening.units, *self.closing.units, *self._units()}):
            opened = self.opening.units.get(instrument, 0)
            changed = self._units().get(instrument, 0)
            closed = self.closing.units.get(instrument, 0)
            if opened + changed != closed:
                problems.append(f"{instrument}: {opened} + {changed} units is not {closed}")
        return problems

    def _units(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for line in self.lines:
            if line.instrument_id and line.units:
                found[line.instrument_id] = found.get(line.instrument_id, 0) + line.units
        return found

    def as_json(self) -> dict[str, Any]:
        untied = self.untied()
        return {
            "investor_id": self.investor_id, "period": self.period.name,
            "from": self.period.start.isoformat(), "to": self.period.end.isoformat(),
            "opening": self.opening.as_json(), "closing": self.closing.as_json(),
            "lines": [line.as_json() for line in self.lines],
            "totals": {name: str(value) for name, value in self.totals().items()},
            "ties_to_the_ledger": not untied, "untied": untied,
        }  # fmt: skip

    def csv(self) -> str:
        """The lines, one row each, after the statement's header and its opening and closing
        stablecoin (units per instrument follow as rows of their own)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        document = self.as_json()
        writer.writerow(["investor_id", "period", "from", "to", "ties_to_the_ledger"])
        writer.writerow([document[k] for k in ("investor_id", "period", "from", "to")]
                        + [document["ties_to_the_ledger"]])  # fmt: skip
        writer.writerow([])
        writer.writerow(["position", "ledger_index", "at", "stablecoin", "instrument", "units"])
        for name in ("opening", "closing"):
            position = document[name]
            row = [name, position["ledger_index"], position["at"], position["stablecoin"]]
            writer.writerow([*row, "", ""])
            for instrument, units in position["units"].items():
                writer.writerow([name, "", "", "", instrument, units])
        writer.writerow([])
        lines = document["lines"]
        columns = ["on", "kind", "reference", "instrument_id", "units", "amount",
                   "stablecoin_change", "tx_hash", "ledger_index"]  # fmt: skip
        writer.writerow(columns)
        writer.writerows([line[c] for c in columns] for line in lines)
        writer.writerow([])
        writer.writerow(["total", *document["totals"]])
        writer.writerow(["", *document["totals"].values()])
        return out.getvalue()


def purchase_lines(
    purchase: Purchase, window: Window, period: Period, closed_at: ClosedAt
) -> list[Line]:
    """Units delivered or taken back within the window, and a refund within the period."""
    lines = []
    amount, ref = Decimal(purchase.amount or 0), purchase.purchase_id
    for step, kind, units in ((Step.DELIVER, LineKind.PURCHASE, purchase.units),
                              (Step.TAKE_BACK, LineKind.TAKEN_BACK, -purchase.units)):  # fmt: skip
        done = validated(purchase.transactions.get(step.value))
        if done is not None and window.holds(done):
            paid = amount if kind is LineKind.PURCHASE else Decimal(0)
            lines.append(_line(done, closed_at, kind, ref, paid, purchase.instrument_id, units))
    refunded = purchase.refunded_at
    if purchase.refund_outcome == "SUCCEEDED" and refunded and _within(refunded, period):
        lines.append(Line(refunded, LineKind.REFUND, ref, amount, purchase.instrument_id))
    return lines


def entitlement_lines(
    distribution_id: str,
    instrument_id: str,
    payment_date: date,
    payment: HolderPayment,
    window: Window,
    period: Period,
    closed_at: ClosedAt,
    taken_back: tuple[Validated, int] | None = None,
) -> list[Line]:
    """A payment's coupon and principal once paid within the window, or held in suspense on a
    payment date within the period; units taken back at maturity within the window."""
    lines = []
    paid = None
    if payment.status is EntitlementStatus.PAID and payment.tx_hash and payment.ledger_index:
        paid = Validated(payment.tx_hash, payment.ledger_index)
    if window.holds(paid):
        assert paid is not None
        for kind, amount in ((LineKind.COUPON, payment.coupon),
                             (LineKind.PRINCIPAL, payment.principal)):  # fmt: skip
            if amount:
                lines.append(_line(paid, closed_at, kind, distribution_id, amount, instrument_id))
    elif payment.status is EntitlementStatus.HELD and period.start <= payment_date < period.end:
        on = datetime.combine(payment_date, time(0), UTC)
        lines.append(Line(on, LineKind.HELD, distribution_id, payment.amount, instrument_id))
    if taken_back is not None and window.holds(taken_back[0]):
        lines.append(_line(taken_back[0], closed_at, LineKind.REDEEMED, distribution_id,
                           Decimal(0), instrument_id, -taken_back[1]))  # fmt: skip
    return lines


def withdrawal_lines(
    withdrawal: Withdrawal,
    redeemed: Validated | None,
    reissued: Validated | None,
    window: Window,
    closed_at: ClosedAt,
) -> list[Line]:
    ref, amount = withdrawal.withdrawal_id, withdrawal.amount
    return [
        _line(done, closed_at, kind, ref, amount)
        for done, kind in (
            (redeemed, LineKind.WITHDRAWAL),
            (reissued, LineKind.WITHDRAWAL_RETURNED),
        )
        if done is not None and window.holds(done)
    ]


def statement(
    investor_id: str, period: Period, opening: Position, closing: Position, lines: Iterable[Line]
) -> Statement:
    """The statement, its lines in the order they happened (by ledger, then kind)."""
    ordered = sorted(
        lines,
        key=lambda x: (x.on or datetime.min.replace(tzinfo=UTC), x.ledger_index or 0, x.kind),
    )
    return Statement(investor_id, period, opening, closing, tuple(ordered))


def _line(
    done: Validated,
    closed_at: ClosedAt,
    kind: LineKind,
    reference: str,
    amount: Decimal,
    instrument_id: str | None = None,
    units: int = 0,
) -> Line:
    on = closed_at(done.ledger_index)
    return Line(on, kind, reference, amount, instrument_id, units, done.tx_hash, done.ledger_index)


def _within(moment: datetime, period: Period) -> bool:
    return period.starts_at <= moment < period.ends_at

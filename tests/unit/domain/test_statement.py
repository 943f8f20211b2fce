"""Investor statements: periods, the lines each record gives within a period's ledgers, and
totals that tie the opening holdings to the closing ones, or say where they do not."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.bookings import Validated
from domain.distribution import EntitlementStatus, HolderPayment
from domain.purchase import Purchase, PurchaseStatus
from domain.statement import (
    LineKind,
    Period,
    PeriodRefused,
    Position,
    Window,
    entitlement_lines,
    periods_asked,
    periods_ended_on,
    purchase_lines,
    statement,
    withdrawal_lines,
)
from domain.withdrawal import Withdrawal

D = Decimal
NOVEMBER = Period.parse("2026-11")
WINDOW = Window(after=100, upto=200)  # the ledgers closed in November


def closed_at(index: int) -> datetime:
    return datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=index - 100)


def done(tx_hash: str, index: int) -> dict[str, Any]:
    return {"hash": tx_hash, "ledger_index": index, "result": "tesSUCCESS"}


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-11", date(2026, 11, 1), date(2026, 12, 1)),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2027-Q1", date(2027, 1, 1), date(2027, 4, 1)),
        ("2026", date(2026, 1, 1), date(2027, 1, 1)),
    ],
)
def test_a_period_is_a_month_a_quarter_or_a_year(text: str, start: date, end: date) -> None:
    period = Period.parse(text)
    assert (period.start, period.end, period.name) == (start, end, text)
    assert period.starts_at == datetime(start.year, start.month, 1, tzinfo=UTC)
    assert period.ends_at == datetime(end.year, end.month, 1, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "26-11", "2026-1", "November", ""])
def test_anything_else_is_refused_with_what_is_meant(text: str) -> None:
    with pytest.raises(PeriodRefused, match="a month"):
        Period.parse(text)


def test_the_periods_that_end_on_a_day() -> None:
    assert [p.name for p in periods_ended_on(date(2026, 12, 1))] == ["2026-11"]
    assert [p.name for p in periods_ended_on(date(2026, 10, 1))] == ["2026-09", "2026-Q3"]
    assert [p.name for p in periods_ended_on(date(2027, 1, 1))] == ["2026-12", "2026-Q4", "2026"]
    assert periods_ended_on(date(2026, 12, 2)) == []


NOW = datetime(2026, 12, 5, 18, tzinfo=UTC)


def test_the_periods_asked_of_the_statements_workflow() -> None:
    assert [p.name for p in periods_asked({"period": "2026-Q3"}, NOW)] == ["2026-Q3"]
    scheduled = {"scheduled_at": "2026-10-01T01:00:00Z"}
    assert [p.name for p in periods_asked(scheduled, NOW)] == ["2026-09", "2026-Q3"]
    # The schedule's day is read in UTC: 01:00 in Berlin on 1 Oct is still 30 Sep.
    assert periods_asked({"scheduled_at": "2026-10-01T01:00:00+02:00"}, NOW) == []


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        ({"period": "2026-12"}, "2026-12 has not ended"),
        ({"period": "2026-Q4"}, "2026-Q4 has not ended"),
        ({"period": "2026-13"}, "a month"),
        ({"scheduled_at": "yesterday"}, "is not a time"),
        ({"scheduled_at": "2026-10-01T01:00:00"}, "no time zone"),
        ({"investor_id": "inv-ada"}, "ask for a period"),
    ],
)
def test_a_period_not_ended_or_not_a_period_is_refused(
    request_: dict[str, Any], reason: str
) -> None:
    with pytest.raises(PeriodRefused, match=reason):
        periods_asked(request_, NOW)


PURCHASE = Purchase(
    "purchase-1", "pay-1", "inv-ada", "SME-A", 2, "200.00", "EUR", PurchaseStatus.DELIVERED,
    transactions={"mint": done("M", 110), "transfer": done("T", 110), "deliver": done("D", 111)},
)  # fmt: skip


def test_a_purchase_delivered_in_the_period_and_one_delivered_before() -> None:
    (line,) = purchase_lines(PURCHASE, WINDOW, NOVEMBER, closed_at)
    assert (line.kind, line.units, line.amount, line.tx_hash) == (
        LineKind.PURCHASE,
        2,
        D("200.00"),
        "D",
    )
    assert line.on == closed_at(111) and line.stablecoin_change == 0
    assert purchase_lines(PURCHASE, Window(111, 300), NOVEMBER, closed_at) == []


def test_an_undone_purchase_and_its_refund() -> None:
    undone = replace(
        PURCHASE, status=PurchaseStatus.REFUNDED, refund_outcome="SUCCEEDED",
        refunded_at=datetime(2026, 11, 20, tzinfo=UTC),
        transactions={**PURCHASE.transactions, "take-back-instrument": done("TB", 150)},
    )  # fmt: skip
    lines = purchase_lines(undone, WINDOW, NOVEMBER, closed_at)
    assert [(x.kind, x.units, x.amount) for x in lines] == [
        (LineKind.PURCHASE, 2, D("200.00")), (LineKind.TAKEN_BACK, -2, D(0)),
        (LineKind.REFUND, 0, D("200.00")),
    ]  # fmt: skip
    december = replace(undone, refunded_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert LineKind.REFUND not in {
        x.kind for x in purchase_lines(december, WINDOW, NOVEMBER, closed_at)
    }


PAID = HolderPayment("inv-ada", "rAda", 2, D("2.50"), D("0"), EntitlementStatus.PAID, "C", 120)


def test_a_coupon_paid_held_and_a_redemption_at_maturity() -> None:
    (coupon,) = entitlement_lines(
        "d-1", "SME-A", date(2026, 11, 15), PAID, WINDOW, NOVEMBER, closed_at
    )
    assert (coupon.kind, coupon.amount, coupon.stablecoin_change) == (
        LineKind.COUPON,
        D("2.50"),
        D("2.50"),
    )
    repaid = replace(PAID, principal=D("200"))
    lines = entitlement_lines("d-2", "SME-A", date(2026, 11, 15), repaid, WINDOW, NOVEMBER,
                              closed_at, (Validated("TB", 121), 2))  # fmt: skip
    assert [(x.kind, x.units, x.amount) for x in lines] == [
        (LineKind.COUPON, 0, D("2.50")), (LineKind.PRINCIPAL, 0, D("200")),
        (LineKind.REDEEMED, -2, D(0)),
    ]  # fmt: skip
    held = replace(PAID, status=EntitlementStatus.HELD, tx_hash=None, ledger_index=None)
    (suspended,) = entitlement_lines(
        "d-1", "SME-A", date(2026, 11, 15), held, WINDOW, NOVEMBER, closed_at
    )
    assert (suspended.kind, suspended.stablecoin_change, suspended.tx_hash) == (
        LineKind.HELD,
        0,
        None,
    )
    assert (
        entitlement_lines("d-1", "SME-A", date(2026, 12, 15), held, WINDOW, NOVEMBER, closed_at)
        == []
    )


def test_a_withdrawal_and_its_return() -> None:
    asked = Withdrawal("wd-1", "inv-ada", D("25.00"), datetime(2026, 11, 3, tzinfo=UTC))
    lines = withdrawal_lines(asked, Validated("R", 130), Validated("I", 131), WINDOW, closed_at)
    assert [(x.kind, x.stablecoin_change) for x in lines] == [
        (LineKind.WITHDRAWAL, D("-25.00")), (LineKind.WITHDRAWAL_RETURNED, D("25.00")),
    ]  # fmt: skip
    assert withdrawal_lines(asked, Validated("R", 99), None, WINDOW, closed_at) == []


def november(closing_eur: str, closing_units: int) -> Any:
    lines = [
        *purchase_lines(PURCHASE, WINDOW, NOVEMBER, closed_at),
        *entitlement_lines("d-1", "SME-A", date(2026, 11, 15), PAID, WINDOW, NOVEMBER, closed_at),
        *withdrawal_lines(
            Withdrawal("wd-1", "inv-ada", D("1.00"), closed_at(105)),
            Validated("R", 140),
            None,
            WINDOW,
            closed_at,
        ),
    ]
    opening = Position(100, closed_at(100), D("10.00"), {})
    closing = Position(200, closed_at(200), D(closing_eur), {"SME-A": closing_units})
    return statement("inv-ada", NOVEMBER, opening, closing, lines)


def test_a_statement_orders_its_lines_totals_them_and_ties_to_the_ledger() -> None:
    tied = november("11.50", 2)
    assert [x.kind for x in tied.lines] == [LineKind.PURCHASE, LineKind.COUPON, LineKind.WITHDRAWAL]
    assert tied.totals() == {
        "purchase": D("200.00"), "refund": D(0), "coupon": D("2.50"), "principal": D(0),
        "withdrawal": D("1.00"), "withdrawal_returned": D(0), "held": D(0),
    }  # fmt: skip
    assert tied.untied() == []
    document = tied.as_json()
    assert document["ties_to_the_ledger"] is True and document["closing"]["units"] == {"SME-A": 2}


def test_a_statement_that_does_not_tie_says_where() -> None:
    untied = november("12.00", 3)
    assert untied.untied() == [
        "stablecoin: 10.00 + 1.50 is not 12.00 on the ledger",
        "SME-A: 0 + 2 units is not 3",
    ]
    assert untied.as_json()["ties_to_the_ledger"] is False


def test_a_statement_as_csv() -> None:
    rows = list(csv.reader(io.StringIO(november("11.50", 2).csv())))
    assert rows[0] == ["investor_id", "period", "from", "to", "ties_to_the_ledger"]
    assert rows[1] == ["inv-ada", "2026-11", "2026-11-01", "2026-12-01", "True"]
    header = rows.index(["on", "kind", "reference", "instrument_id", "units", "amount",
                         "stablecoin_change", "tx_hash", "ledger_index"])  # fmt: skip
    assert [r[1] for r in rows[header + 1 : header + 4]] == ["PURCHASE", "COUPON", "WITHDRAWAL"]
    assert rows[-2][0] == "total" and rows[-1][3] == "2.50"


@given(st.lists(st.integers(1, 10**6), max_size=8), st.lists(st.integers(1, 10**6), max_size=8))
def test_coupons_less_withdrawals_always_tie_when_the_ledger_agrees(
    coupons: list[int], withdrawals: list[int]
) -> None:
    lines = []
    for n, cents in enumerate(coupons):
        paid = replace(PAID, coupon=D(cents) / 100, ledger_index=101 + n)
        payment_date = date(2026, 11, 15)
        lines += entitlement_lines(
            f"d-{n}", "SME-A", payment_date, paid, WINDOW, NOVEMBER, closed_at
        )
    for n, cents in enumerate(withdrawals):
        asked = Withdrawal(f"wd-{n}", "inv", D(cents) / 100, closed_at(100))
        lines += withdrawal_lines(asked, Validated(f"R{n}", 150 + n), None, WINDOW, closed_at)
    closing = D(sum(coupons) - sum(withdrawals)) / 100 + D(1000)
    made = statement(
        "inv", NOVEMBER, Position(100, None, D(1000)), Position(200, None, closing), lines
    )
    assert made.untied() == []

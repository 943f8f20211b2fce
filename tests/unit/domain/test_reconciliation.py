"""Three-way reconciliation: a clean day is clean, with its totals; each kind of break the
issue names is reported with every side's figure, and nothing else is."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.bookings import STABLECOIN, Movement, Supply
from domain.purchase import Purchase, PurchaseStatus
from domain.reconciliation import (
    LedgerSide,
    ProviderSide,
    RecordsSide,
    ReportUnreadable,
    cut_off_of,
    last_ledger_closed_by,
    payouts_settled_by,
    provider_side,
    reconcile,
    records_at,
    refunds_settled_by,
)
from domain.withdrawal import Withdrawal

D = Decimal
ISSUANCE = "00000001A"
LEDGER = LedgerSide(
    ledger_index=120,
    stablecoin_outstanding=D("650.00"),  # 500 deposits + 200 collected - 50 paid out
    wallets={"rAda": D("30.00"), "rBob": D("0")},
    company=D("620.00"),
    units={(ISSUANCE, "rAda"): 5, (ISSUANCE, "rBob"): 2},
    issuances={ISSUANCE: 7},
)
RECORDS = RecordsSide(
    taken_in=D("700.00"),
    paid_out=D("50.00"),
    wallets={"rAda": D("30.00")},
    company=D("620.00"),
    units={(ISSUANCE, "rAda"): 5, (ISSUANCE, "rBob"): 2},
    issuances={ISSUANCE: 7},
    payments={"pay-1": D("500.00"), "pay-2": D("100.00")},
    payouts={"wd-1": D("50.00")},
    refunds={"purchase-2": D("100.00")},
)
PROVIDER = ProviderSide(
    payments={"pay-1": D("500.00"), "pay-2": D("100.00")},
    payouts={"wd-1": D("50.00")},
    refunds={"purchase-2": D("100.00")},
)


Found = list[tuple[str, str, dict[str, str | None]]]


def differences(
    ledger: LedgerSide = LEDGER, records: RecordsSide = RECORDS, provider: ProviderSide = PROVIDER
) -> Found:
    found = reconcile(ledger, records, provider).differences
    return [
        (d.figure, d.subject, {k: None if v is None else str(v) for k, v in d.said.items()})
        for d in found
    ]


def test_a_clean_day_says_so_with_its_totals() -> None:
    clean = reconcile(LEDGER, RECORDS, PROVIDER)
    assert clean.clean and clean.ledger_index == 120
    assert clean.totals == {
        "stablecoin_outstanding": D("650.00"), "held_by_investors": D("30.00"),
        "company": D("620.00"), "paid_in": D("600.00"), "paid_out": D("50.00"),
        "refunded": D("100.00"), "held_in_suspense": D("0"),
    }  # fmt: skip


def test_a_ledger_payment_with_no_record_is_reported() -> None:
    paid = replace(
        LEDGER,
        stablecoin_outstanding=D("660.00"),
        wallets={**LEDGER.wallets, "rEve": D("10.00")},
    )
    assert differences(ledger=paid) == [
        ("stablecoin outstanding", "", {"ledger": "660.00", "records": "650.00"}),
        ("wallet", "rEve", {"ledger": "10.00", "records": None}),
    ]


def test_a_record_with_no_ledger_effect_is_reported() -> None:
    recorded = replace(RECORDS, paid_out=D("75.00"), wallets={"rAda": D("5.00")})
    assert differences(records=recorded) == [
        ("stablecoin outstanding", "", {"ledger": "650.00", "records": "625.00"}),
        ("wallet", "rAda", {"ledger": "30.00", "records": "5.00"}),
    ]


def test_a_provider_payout_with_no_withdrawal_is_reported() -> None:
    paid = replace(PROVIDER, payouts={**PROVIDER.payouts, "wd-ghost": D("99.00")})
    assert differences(provider=paid) == [
        ("payout", "wd-ghost", {"records": None, "provider": "99.00"}),
    ]


def test_a_wrong_amount_is_reported_on_each_side_it_shows() -> None:
    wrong = replace(PROVIDER, payments={"pay-1": D("500.00"), "pay-2": D("10.00")})
    refunded = replace(PROVIDER, refunds={"purchase-2": D("100.01")})
    assert differences(provider=wrong) == [
        ("payment", "pay-2", {"records": "100.00", "provider": "10.00"}),
    ]
    assert differences(provider=refunded) == [
        ("refund", "purchase-2", {"records": "100.00", "provider": "100.01"}),
    ]


def test_a_holder_outside_the_records_is_reported() -> None:
    outside = replace(
        LEDGER,
        units={**LEDGER.units, (ISSUANCE, "rMallory"): 1},
        issuances={ISSUANCE: 8},
    )
    assert differences(ledger=outside) == [
        ("holding", f"{ISSUANCE}/rMallory", {"ledger": "1", "records": None}),
        ("issuance", ISSUANCE, {"ledger": "8", "records": "7"}),
    ]
    assert reconcile(outside, RECORDS, PROVIDER).differences[0].as_json()["ledger"] == "1"


@given(st.dictionaries(st.sampled_from(["rA", "rB", "rC"]), st.integers(0, 10**6)))
def test_sides_that_agree_never_differ_and_an_empty_wallet_is_no_difference(
    cents: dict[str, int],
) -> None:
    wallets = {address: D(c) / 100 for address, c in cents.items()}
    held = sum(wallets.values(), D(0))
    ledger = replace(LEDGER, wallets=wallets, stablecoin_outstanding=held + LEDGER.company)
    records = replace(
        RECORDS,
        wallets={a: v for a, v in wallets.items() if v},
        taken_in=held + LEDGER.company + RECORDS.paid_out,
    )
    assert reconcile(ledger, records, PROVIDER).clean


def test_the_records_side_adds_up_movements_validated_by_the_ledger_read() -> None:
    movements = [
        Movement("MINT", 10, "rAda", STABLECOIN, D("100"), Supply.TAKEN_IN),
        Movement("MOVE", 10, "rAda", STABLECOIN, D("-100")),
        Movement("MOVE", 10, "rCo", STABLECOIN, D("100")),
        Movement("DELIVER", 11, "rAda", ISSUANCE, D("1")),
        Movement("COUPON", 12, "rCo", STABLECOIN, D("-2.50")),
        Movement("COUPON", 12, "rAda", STABLECOIN, D("2.50")),
        Movement("REDEEM", 13, "rAda", STABLECOIN, D("-2.50"), Supply.PAID_OUT),
        Movement("LATER", 14, "rAda", STABLECOIN, D("7"), Supply.TAKEN_IN),
    ]
    side = records_at(movements, 13, "rCo", payments={}, payouts={}, refunds={})
    assert (side.taken_in, side.paid_out, side.company) == (D("100"), D("2.50"), D("97.50"))
    assert side.wallets == {"rAda": D("0")}
    assert side.units == {(ISSUANCE, "rAda"): 1} and side.issuances == {ISSUANCE: 1}
    assert "LATER" not in {m.tx_hash for m in side.movements}


def test_a_difference_names_the_transactions_only_one_side_holds() -> None:
    on_ledger = (
        Movement("PAID", 100, "rAda", STABLECOIN, D("30")),
        Movement("GHOST", 101, "rAda", STABLECOIN, D("10")),
    )
    in_records = (
        Movement("PAID", 100, "rAda", STABLECOIN, D("30")),
        Movement("NEVER", 102, "rAda", STABLECOIN, D("5")),
        Movement("OTHER", 102, "rBob", STABLECOIN, D("5")),
    )
    ledger = replace(LEDGER, wallets={"rAda": D("40.00")}, movements=on_ledger)
    records = replace(RECORDS, wallets={"rAda": D("35.00")}, movements=in_records)
    (wallet,) = [d for d in reconcile(ledger, records, PROVIDER).differences]
    assert (wallet.on_ledger_only, wallet.in_records_only) == (("GHOST",), ("NEVER",))
    assert wallet.as_json()["on_ledger_only"] == ["GHOST"]


def test_a_summary_shows_the_count_the_totals_and_the_first_differences() -> None:
    broken = replace(PROVIDER, payouts={f"wd-{n}": D(n) for n in range(1, 15)})
    summary = reconcile(LEDGER, RECORDS, broken).summary(shown=3)
    assert summary["clean"] is False and summary["differences"] == 14
    assert [d["subject"] for d in summary["first_differences"]] == ["wd-1", "wd-10", "wd-11"]
    assert summary["totals"]["paid_out"] == str(sum(range(1, 15)))


AT = datetime(2026, 12, 5, tzinfo=UTC)


def test_payouts_and_refunds_count_as_settled_by_the_cut_off() -> None:
    asked = Withdrawal("wd-1", "inv-ada", D("25.00"), AT - timedelta(days=2))
    paid = replace(asked, paid_out_at=AT - timedelta(days=1))
    returned = replace(paid, withdrawal_id="wd-2", returned_at=AT - timedelta(hours=1))
    returned_later = replace(paid, withdrawal_id="wd-3", returned_at=AT + timedelta(hours=1))
    paid_later = replace(asked, withdrawal_id="wd-4", paid_out_at=AT + timedelta(seconds=1))
    settled = payouts_settled_by([asked, paid, returned, returned_later, paid_later], AT)
    assert settled == {"wd-1": D("25.00"), "wd-3": D("25.00")}
    refunded = Purchase(
        "p-1", "pay-1", "inv", "SME", 1, "100.00", "EUR", PurchaseStatus.REFUNDED,
        refund_outcome="SUCCEEDED", refunded_at=AT,
    )  # fmt: skip
    failed = replace(refunded, purchase_id="p-2", refund_outcome="FAILED")
    assert refunds_settled_by([refunded, failed], AT) == {"p-1": D("100.00")}


def line(kind: str, outcome: str, reference: str, amount: str, at: datetime) -> dict[str, str]:
    return {"kind": kind, "outcome": outcome, "reference": reference, "amount": amount,
            "currency": "EUR", "settled_at": at.isoformat()}  # fmt: skip


def test_the_provider_report_nets_by_reference_up_to_the_cut_off() -> None:
    before, after = AT - timedelta(minutes=1), AT + timedelta(minutes=1)
    report = [
        line("payment", "captured", "pay-1", "100.00", before),
        line("payment", "captured", "pay-2", "50.00", after),
        line("payout", "paid", "wd-1", "25.00", before),
        line("payout", "returned", "wd-1", "25.00", before),
        line("payout", "paid", "wd-2", "10.00", before),
        line("payout", "returned", "wd-2", "10.00", after),
        line("refund", "succeeded", "p-1", "100.00", AT),
    ]
    side = provider_side(report, AT)
    assert side == ProviderSide({"pay-1": D("100.00")}, {"wd-2": D("10.00")}, {"p-1": D("100.00")})


@pytest.mark.parametrize(
    "broken",
    [
        {"kind": "chargeback", "outcome": "lost"},
        {"amount": "ten"},
        {"settled_at": "yesterday"},
    ],
)
def test_a_report_line_the_platform_cannot_place_is_refused(broken: dict[str, str]) -> None:
    with pytest.raises(ReportUnreadable):
        provider_side([{**line("payout", "paid", "wd-1", "1.00", AT), **broken}], AT)


@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=300),
    st.integers(-2, 1000),
)
def test_the_ledger_read_is_the_newest_closed_by_the_cut_off(gaps: list[int], offset: int) -> None:
    closes = [AT + timedelta(seconds=sum(gaps[: i + 1])) for i in range(len(gaps))]
    cut_off = AT + timedelta(seconds=offset)

    def closed_at(index: int) -> datetime:
        return closes[index - 1]

    expected = [i for i in range(1, len(closes) + 1) if closes[i - 1] <= cut_off]
    if not expected:
        with pytest.raises(ValueError, match="no ledger closed"):
            last_ledger_closed_by(cut_off, len(closes), closed_at)
    else:
        assert last_ledger_closed_by(cut_off, len(closes), closed_at) == expected[-1]


def test_the_cut_off_asked_for_scheduled_or_now() -> None:
    now = AT + timedelta(hours=1)
    assert cut_off_of({"cut_off": "2026-12-05T00:00:00+00:00"}, now) == AT
    assert cut_off_of({"scheduled_at": "2026-12-05T00:30:00Z"}, now) == AT  # midnight's books
    assert cut_off_of({}, now) == now
    for refused, reason in (
        ({"cut_off": "2026-12-05T02:00:00Z"}, "in the future"),
        ({"cut_off": "2026-12-05T00:00:00"}, "no time zone"),
        ({"scheduled_at": "tonight"}, "not an ISO 8601 time"),
    ):
        with pytest.raises(ValueError, match=reason):
            cut_off_of(refused, now)

"""Three-way reconciliation: a clean day is clean, with its totals; each kind of break the
issue names is reported with every side's figure, and nothing else is."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.reconciliation import LedgerSide, ProviderSide, RecordsSide, reconcile

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
        "refunded": D("100.00"),
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

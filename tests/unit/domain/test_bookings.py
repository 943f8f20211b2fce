"""What each record says moved, and what each validated transaction shows moved: the two must
name the same accounts, assets and amounts for the same transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain import bookings
from domain.bookings import STABLECOIN, Movement, Supply, Validated
from domain.distribution import EntitlementStatus, HolderPayment
from domain.platform import PlatformAccounts
from domain.purchase import Purchase, PurchaseStatus
from domain.withdrawal import Withdrawal

D = Decimal
ACCOUNTS = PlatformAccounts(issuer="rIssuer", company="rCompany", funding="rFunding")
MPT = "0000000AMPT"


def done(tx_hash: str, index: int, result: str = "tesSUCCESS") -> dict[str, Any]:
    return {"hash": tx_hash, "ledger_index": index, "result": result}


PURCHASE = Purchase(
    purchase_id="purchase-1", payment_id="pay-1", investor_id="inv-ada",
    instrument_id="SME-A", units=2, amount="200.00", currency="EUR",
    status=PurchaseStatus.DELIVERED, issuance_id=MPT, investor_address="rAda",
    transactions={
        "stablecoin-line": done("LINE", 9), "mint": done("M", 10), "transfer": done("T", 10),
        "deliver": done("D", 11),
    },
)  # fmt: skip


def net(movements: list[Movement]) -> dict[tuple[str, str], Decimal]:
    found: dict[tuple[str, str], Decimal] = {}
    for m in movements:
        found[(m.account, m.asset)] = found.get((m.account, m.asset), D(0)) + m.change
    return {key: value for key, value in found.items() if value}


def test_a_delivered_purchase_moved_its_money_to_the_company_and_its_units_to_the_investor() -> (
    None
):
    moved = bookings.of_purchase(PURCHASE, ACCOUNTS)
    assert net(moved) == {("rCompany", STABLECOIN): D("200.00"), ("rAda", MPT): D(2)}
    assert [m.tx_hash for m in moved if m.supply is Supply.TAKEN_IN] == ["M"]
    assert {m.cause for m in moved} >= {"purchase purchase-1 mint", "purchase purchase-1 deliver"}


def test_an_undone_purchase_nets_to_nothing_and_a_failed_step_moved_nothing() -> None:
    undone = replace(
        PURCHASE,
        status=PurchaseStatus.REFUNDED,
        transactions={
            **PURCHASE.transactions,
            "take-back-instrument": done("TB", 12),
            "redeem-stablecoin": done("R", 12),
            "claw-back-stablecoin": done("C", 12, "tecNO_PERMISSION"),
        },
    )
    moved = bookings.of_purchase(undone, ACCOUNTS)
    assert net(moved) == {}
    assert sum(m.change for m in moved if m.supply is Supply.TAKEN_IN) == 0
    assert "C" not in {m.tx_hash for m in moved}


def test_a_payment_and_a_take_back_at_maturity() -> None:
    paid = HolderPayment("inv-ada", "rAda", 2, D("1.25"), D("200"), EntitlementStatus.PAID, "P", 20)
    moved = bookings.of_entitlement("dist-1", paid, "rCompany", MPT, Validated("TB", 21), 2)
    assert net(moved) == {
        ("rCompany", STABLECOIN): D("-201.25"), ("rAda", STABLECOIN): D("201.25"),
        ("rAda", MPT): D(-2),
    }  # fmt: skip
    held = replace(paid, status=EntitlementStatus.HELD, tx_hash=None, ledger_index=None)
    assert bookings.of_entitlement("dist-1", held, "rCompany", MPT) == []


def test_a_withdrawal_paid_out_then_put_back() -> None:
    asked = Withdrawal("wd-1", "inv-ada", D("25.00"), datetime(2026, 12, 1, tzinfo=UTC))
    redeemed = bookings.of_withdrawal(asked, "rAda", Validated("R", 30), None)
    assert net(redeemed) == {("rAda", STABLECOIN): D("-25.00")}
    assert redeemed[0].supply is Supply.PAID_OUT
    both = bookings.of_withdrawal(asked, "rAda", Validated("R", 30), Validated("I", 31))
    assert net(both) == {}


def entry(tx: dict[str, Any], result: str = "tesSUCCESS", **meta: Any) -> dict[str, Any]:
    return {"tx": {"hash": "H", **tx}, "meta": {"TransactionResult": result, **meta},
            "ledger_index": 40, "validated": True}  # fmt: skip


EUR = {"currency": "EUR", "issuer": "rIssuer", "value": "12.5"}


@pytest.mark.parametrize(
    ("tx", "expected"),
    [
        (   # a mint: the issuer's own side is not a holding
            {"TransactionType": "Payment", "Account": "rIssuer", "Destination": "rAda",
             "Amount": EUR},
            [("rAda", STABLECOIN, "12.5", Supply.ISSUER)],
        ),
        (
            {"TransactionType": "Payment", "Account": "rAda", "Destination": "rCompany",
             "Amount": EUR},
            [("rAda", STABLECOIN, "-12.5", None), ("rCompany", STABLECOIN, "12.5", None)],
        ),
        (
            {"TransactionType": "Payment", "Account": "rCompany", "Destination": "rAda",
             "Amount": {"mpt_issuance_id": MPT, "value": "3"}},
            [("rAda", MPT, "3", None)],
        ),
        (
            {"TransactionType": "Clawback", "Account": "rIssuer",
             "Amount": {**EUR, "issuer": "rAda"}},
            [("rAda", STABLECOIN, "-12.5", Supply.ISSUER)],
        ),
        (
            {"TransactionType": "Clawback", "Account": "rCompany", "Holder": "rAda",
             "Amount": {"mpt_issuance_id": MPT, "value": "3"}},
            [("rAda", MPT, "-3", None)],
        ),
        (   # another issuer's EUR, XRP, a trust line: none of the platform's assets
            {"TransactionType": "Payment", "Account": "rA", "Destination": "rB",
             "Amount": {**EUR, "issuer": "rElse"}},
            [],
        ),
        ({"TransactionType": "Payment", "Account": "rA", "Destination": "rB", "Amount": "10"}, []),
        ({"TransactionType": "TrustSet", "Account": "rAda", "LimitAmount": EUR}, []),
    ],
)  # fmt: skip
def test_what_a_validated_transaction_moved(
    tx: dict[str, Any], expected: list[tuple[str, str, str, Supply | None]]
) -> None:
    moved = bookings.on_ledger(entry(tx), ACCOUNTS)
    assert [(m.account, m.asset, str(m.change), m.supply) for m in moved] == expected
    assert all((m.tx_hash, m.ledger_index) == ("H", 40) for m in moved)


def test_a_failed_transaction_moved_nothing_and_delivered_amount_wins() -> None:
    pay = {"TransactionType": "Payment", "Account": "rAda", "Destination": "rCompany",
           "Amount": EUR}  # fmt: skip
    assert bookings.on_ledger(entry(pay, "tecPATH_DRY"), ACCOUNTS) == []
    partial = entry(pay, delivered_amount={**EUR, "value": "2"})
    assert [str(m.change) for m in bookings.on_ledger(partial, ACCOUNTS)] == ["-2", "2"]


def test_a_record_and_its_transaction_agree_on_what_moved() -> None:
    """The purchase's transfer, as the record books it and as the ledger shows it."""
    booked = [m for m in bookings.of_purchase(PURCHASE, ACCOUNTS) if m.tx_hash == "T"]
    shown = bookings.on_ledger(
        {**entry({"TransactionType": "Payment", "Account": "rAda", "Destination": "rCompany",
                  "Amount": {**EUR, "value": "200.00"}}), "ledger_index": 10},
        ACCOUNTS,
    )  # fmt: skip
    assert net(booked) == net([replace(m, tx_hash="T") for m in shown])


def test_a_collection_is_money_taken_in_by_the_company() -> None:
    minted = bookings.of_collection("col-1", D("5000.00"), "rCompany", Validated("C1", 50))
    assert (minted.account, minted.asset, minted.change) == ("rCompany", STABLECOIN, D("5000.00"))
    assert (minted.supply, minted.cause, minted.tx_hash) == (
        Supply.TAKEN_IN, "collection col-1", "C1",
    )  # fmt: skip

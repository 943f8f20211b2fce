"""Holders of record: the ledger's units on the investors' wallets, checked against the records
and against the issuance's outstanding amount, all as of one validated ledger."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.errors import TransientFault
from domain.holders import (
    HoldersDiffer,
    Holding,
    check_settled,
    holders_of_record,
    units_in_records,
)
from domain.purchase import Purchase, PurchaseStatus

ADA = Holding("inv-ada", "rAda", 5)
BOB = Holding("inv-bob", "rBob", 3, locked=True)


def snapshot(outstanding: int, on_ledger: dict[str, Holding], in_records: dict[str, int]) -> object:
    return holders_of_record("SME-2027-A", "00AB", 77, outstanding, on_ledger, in_records)


def test_agreeing_ledger_and_records_give_the_holders_with_units() -> None:
    idle = Holding("inv-cy", "rCy", 0)
    holders = holders_of_record(
        "SME-2027-A",
        "00AB",
        77,
        8,
        {"inv-ada": ADA, "inv-bob": BOB, "inv-cy": idle},
        {"inv-ada": 5, "inv-bob": 3},
    )
    assert holders.holdings == (ADA, BOB)  # a wallet without units is no holder
    assert (holders.units, holders.ledger_index) == (8, 77)
    assert holders.holdings[1].locked  # an AML block is carried to the distribution


@pytest.mark.parametrize(
    ("outstanding", "on_ledger", "in_records", "said"),
    [
        (8, {"inv-ada": ADA, "inv-bob": BOB}, {"inv-ada": 4, "inv-bob": 3},
         ["investor inv-ada: 5 units on the ledger, the records say 4 units"]),
        (9, {"inv-ada": ADA, "inv-bob": BOB}, {"inv-ada": 5, "inv-bob": 3},
         ["issuance 00AB: 9 units outstanding, 8 on the investors' wallets: 1 held outside"]),
        (8, {"inv-ada": ADA}, {"inv-ada": 5, "inv-bob": 3},
         ["investor inv-bob: no wallet, the records say 3 units",
          "issuance 00AB: 8 units outstanding, 5 on the investors' wallets: 3 held outside"]),
        (8, {"inv-ada": ADA, "inv-bob": BOB}, {"inv-ada": 5},
         ["investor inv-bob: 3 units on the ledger, none in the records"]),
    ],
)  # fmt: skip
def test_every_difference_stops_the_distribution_and_is_named(
    outstanding: int, on_ledger: dict[str, Holding], in_records: dict[str, int], said: list[str]
) -> None:
    with pytest.raises(HoldersDiffer) as stopped:
        snapshot(outstanding, on_ledger, in_records)
    differences = stopped.value.differences
    assert len(differences) == len(said)
    assert all(d.startswith(s) for d, s in zip(differences, said, strict=True)), differences


PURCHASE = Purchase(
    purchase_id="purchase-1",
    payment_id="pay-1",
    investor_id="inv-ada",
    instrument_id="SME-2027-A",
    units=5,
    amount="500.00",
    currency="EUR",
    status=PurchaseStatus.DELIVERED,
    transactions={"deliver": {"hash": "A", "ledger_index": 70, "result": "tesSUCCESS"}},
)


def test_the_records_count_units_delivered_by_the_ledger_and_not_taken_back() -> None:
    taken_back = replace(
        PURCHASE,
        purchase_id="purchase-2",
        status=PurchaseStatus.REFUNDED,
        transactions={
            "deliver": {"hash": "B", "ledger_index": 71, "result": "tesSUCCESS"},
            "take-back-instrument": {"hash": "C", "ledger_index": 75, "result": "tesSUCCESS"},
        },
    )
    failed = replace(
        PURCHASE,
        purchase_id="purchase-3",
        status=PurchaseStatus.REFUNDED,
        transactions={"deliver": {"hash": "D", "ledger_index": 72, "result": "tecNO_AUTH"}},
    )
    purchases = [PURCHASE, taken_back, failed]
    assert units_in_records(purchases, 69) == {}  # before any delivery
    assert units_in_records(purchases, 72) == {"inv-ada": 10}  # both delivered, none back yet
    assert units_in_records(purchases, 80) == {"inv-ada": 5}


def test_a_snapshot_waits_for_purchases_still_settling() -> None:
    check_settled([PURCHASE, replace(PURCHASE, status=PurchaseStatus.NEEDS_OPERATOR)])
    settling = [replace(PURCHASE, purchase_id=f"p-{n}", status=PurchaseStatus.DEPOSIT_RECORDED)
                for n in range(5)]  # fmt: skip
    with pytest.raises(TransientFault, match="p-0, p-1, p-2 and 2 more"):
        check_settled(settling)

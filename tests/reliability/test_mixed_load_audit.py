"""The mixed load's audit, against records and ledger moves made by hand: what it expects of a
delivered purchase and of one undone, and that it names what differs both ways."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from domain.platform import PlatformAccounts
from tests.reliability.mixed_load_audit import mismatches, purchases_recorded

ACCOUNTS = PlatformAccounts(issuer="rIssuer", company="rCompany", funding="rFunding")
INVESTOR, ISSUANCE = "rInvestor", "00000001ABCD"
MINT = (ACCOUNTS.issuer, INVESTOR, "EUR", Decimal("200.00"))
TRANSFER = (INVESTOR, ACCOUNTS.company, "EUR", Decimal("200.00"))
DELIVER = (ACCOUNTS.company, INVESTOR, ISSUANCE, Decimal(2))


def purchase(status: str, **steps: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(
        purchase_id="purchase-1", investor_address=INVESTOR, amount="200.00", units=2,
        issuance_id=ISSUANCE, status=status, transactions=SimpleNamespace(as_dict=lambda: steps),
    )  # fmt: skip


def validated(tx_hash: str) -> dict[str, Any]:
    return {"hash": tx_hash, "ledger_index": 7, "result": "tesSUCCESS"}


def test_a_delivered_purchase_matches_its_three_payments() -> None:
    bought = purchase("DELIVERED", mint=validated("M"), transfer=validated("T"),
                      deliver=validated("D"))  # fmt: skip
    ledger = {"M": MINT, "T": TRANSFER, "D": DELIVER}
    assert mismatches(ledger, purchases_recorded([bought], ACCOUNTS)) == []


def test_a_delivered_purchase_missing_a_payment_or_its_hash_is_named() -> None:
    bought = purchase("DELIVERED", mint=validated("M"), transfer=validated("T"))
    found = mismatches({"M": MINT, "T": TRANSFER}, purchases_recorded([bought], ACCOUNTS))
    assert found == [f"purchase-1 deliver -: recorded {DELIVER}, ledger has None"]


def test_an_undone_purchase_expects_only_the_steps_that_validated() -> None:
    expired = {"hash": "T", "ledger_index": None, "result": "EXPIRED"}
    undone = purchase("REFUNDED", mint=validated("M"), transfer=expired)
    assert mismatches({"M": MINT}, purchases_recorded([undone], ACCOUNTS)) == []
    assert purchases_recorded([purchase("REFUNDED")], ACCOUNTS) == []


def test_a_payment_of_an_undone_step_found_on_the_ledger_is_named() -> None:
    undone = purchase("REFUNDED", mint=validated("M"), transfer={"hash": "T", "result": "tecX"})
    found = mismatches({"M": MINT, "T": TRANSFER}, purchases_recorded([undone], ACCOUNTS))
    assert found == [f"T: {TRANSFER} on the ledger, in no record"]

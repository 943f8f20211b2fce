"""The holder register: holdings and locks as the ledger shows them, each change in ledger
order with its cause, a holder's extract with only their own lines, and the nominal a unit
still owes on the register's date."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from domain.cash_flows import schedule, terms_from
from domain.compliance import TF_MPT_LOCK, TF_MPT_UNLOCK
from domain.register import (
    RESTRICTION_CHANGED,
    Cause,
    ChangeKind,
    Restriction,
    changes_on_ledger,
    holder_register,
    nominal_per_unit_on,
)

D = Decimal
MPT, COMPANY = "00000007MPT", "rCompany"
AT = datetime(2026, 12, 5, tzinfo=UTC)


def entry(
    index: int, position: int, tx: dict[str, Any], result: str = "tesSUCCESS"
) -> dict[str, Any]:
    return {
        "hash": f"H{index}-{position}", "ledger_index": index,
        "close_time_iso": f"2026-12-0{index % 9 + 1}T00:00:00Z",
        "tx_json": {"Account": COMPANY, **tx},
        "meta": {"TransactionResult": result, "TransactionIndex": position},
    }  # fmt: skip


def units(value: int, issuance: str = MPT) -> dict[str, str]:
    return {"mpt_issuance_id": issuance, "value": str(value)}


HISTORY = [
    entry(12, 0, {"TransactionType": "Clawback", "Holder": "rAda", "Amount": units(1)}),
    entry(10, 1, {"TransactionType": "Payment", "Destination": "rAda", "Amount": units(3)}),
    entry(10, 0, {"TransactionType": "Payment", "Destination": "rBob", "Amount": units(2)}),
    entry(
        11,
        0,
        {
            "TransactionType": "MPTokenIssuanceSet",
            "MPTokenIssuanceID": MPT,
            "Holder": "rBob",
            "Flags": TF_MPT_LOCK,
        },
    ),
    entry(
        13,
        0,
        {
            "TransactionType": "MPTokenIssuanceSet",
            "MPTokenIssuanceID": MPT,
            "Holder": "rBob",
            "Flags": TF_MPT_UNLOCK,
        },
    ),
    entry(
        11, 1, {"TransactionType": "Payment", "Destination": "rAda", "Amount": units(9, "OTHER")}
    ),
    entry(
        11,
        2,
        {"TransactionType": "Payment", "Destination": "rEve", "Amount": units(1)},
        "tecNO_AUTH",
    ),
    entry(11, 3, {"TransactionType": "MPTokenAuthorize", "MPTokenIssuanceID": MPT, "Holder": "rA"}),
]


def test_every_change_of_the_issuance_in_ledger_order_and_nothing_else() -> None:
    found = changes_on_ledger(HISTORY, MPT, COMPANY)
    assert [(c.ledger_index, c.holder, c.kind, c.units) for c in found] == [
        (10, "rBob", ChangeKind.ISSUED, 2),
        (10, "rAda", ChangeKind.ISSUED, 3),
        (11, "rBob", ChangeKind.LOCKED, 0),
        (12, "rAda", ChangeKind.TAKEN_BACK, -1),
        (13, "rBob", ChangeKind.UNLOCKED, 0),
    ]
    assert found[0].tx_hash == "H10-0" and found[0].closed_at == datetime(2026, 12, 2, tzinfo=UTC)
    not_ours = [{**e, "tx_json": {**e["tx_json"], "Account": "rElse"}} for e in HISTORY]
    assert changes_on_ledger(not_ours, MPT, COMPANY) == []


def register_at(index: int = 13, **more: Any) -> Any:
    return holder_register(
        "SME-A", MPT, index, AT, D("80.00"),
        {"rAda": (2, False), "rBob": (2, True), "rGone": (0, False), "rOut": (1, False)},
        changes_on_ledger(HISTORY, MPT, COMPANY),
        investors={"rAda": "inv-ada", "rBob": "inv-bob", "rGone": "inv-gone"},
        **more,
    )  # fmt: skip


def test_holders_with_units_their_nominal_and_restrictions() -> None:
    register = register_at(frozen={"rBob"}, held={"inv-bob": D("12.50")})
    assert [
        (e.address, e.investor_id, e.units, e.outstanding_nominal) for e in register.entries
    ] == [
        ("rAda", "inv-ada", 2, D("160.00")),
        ("rBob", "inv-bob", 2, D("160.00")),
        ("rOut", None, 1, D("80.00")),  # outside the records: shown, named by nobody
    ]
    bob = register.entries[1]
    assert bob.restrictions == (
        Restriction.FROZEN, Restriction.LOCKED, Restriction.HELD_IN_SUSPENSE,
    )  # fmt: skip
    assert bob.held_in_suspense == D("12.50") and register.units == 5


def test_changes_carry_their_cause_and_a_clawback_at_maturity_is_a_redemption() -> None:
    causes = {
        "H10-1": Cause("purchase p-1 deliver", "arn:execution:p-1"),
        "H12-0": Cause(
            "distribution SME-A:2027-01-01: redeemed at maturity",
            "Distribution x",
            "alice",
            redemption=True,
        ),
        "H11-0": Cause("AML case c-1: ledger freeze in place (lock)", None, "bob-the-operator"),
    }
    register = register_at(causes=causes)
    by_hash = {c.tx_hash: c for c in register.changes}
    assert by_hash["H12-0"].kind is ChangeKind.REDEEMED
    assert by_hash["H10-1"].as_json()["execution"] == "arn:execution:p-1"
    assert by_hash["H11-0"].as_json()["operator"] == "bob-the-operator"
    assert by_hash["H10-0"].as_json()["cause"] == "not in the records"
    assert by_hash["H10-0"].investor_id == "inv-bob"


def test_a_register_as_of_an_earlier_ledger_has_only_the_changes_by_then() -> None:
    assert [c.tx_hash for c in register_at(index=10).changes] == ["H10-0", "H10-1"]


def test_a_holders_extract_has_their_entry_and_their_changes_only() -> None:
    extract = register_at().extract("inv-ada")
    assert [e.investor_id for e in extract.entries] == ["inv-ada"]
    assert {c.investor_id for c in extract.changes} == {"inv-ada"}
    assert len(extract.changes) == 2


def test_the_register_as_json_and_as_csv() -> None:
    register = register_at(frozen={"rBob"})
    document = register.as_json()
    assert document["units"] == 5 and document["as_of"] == AT.isoformat()
    assert document["holders"][1]["restrictions"] == ["FROZEN", "LOCKED"]
    rows = list(csv.reader(io.StringIO(register.csv())))
    assert rows[0] == ["instrument_id", "issuance_id", "ledger_index", "as_of"]
    assert rows[1] == ["SME-A", MPT, "13", AT.isoformat()]
    holders_at = rows.index(list(document["holders"][0]))
    assert rows[holders_at + 2][document["holders"][0].__len__() - 2] == "FROZEN LOCKED"
    changes_at = rows.index(list(document["changes"][0]))
    assert len(rows) - changes_at - 1 == len(document["changes"])


def test_the_nominal_a_unit_still_owes_on_a_date() -> None:
    terms = terms_from({
        "instrument_id": "AMORT", "coupon_rate": "0.05", "day_count": "30E/360",
        "payments_per_year": 2, "issue_date": "2026-01-01", "maturity": "2027-01-01",
        "business_day_convention": "UNADJUSTED", "unit_price": "100.00",
        "amortization": [{"date": "2026-07-01", "principal_per_unit": "40.00"}],
    })  # fmt: skip
    periods = schedule(terms)
    assert nominal_per_unit_on(D("100.00"), periods, date(2026, 6, 30)) == D("100.00")
    assert nominal_per_unit_on(D("100.00"), periods, date(2026, 7, 1)) == D("60.00")
    assert nominal_per_unit_on(D("100.00"), periods, date(2027, 1, 1)) == D("0.00")


def test_a_holder_is_never_told_why_a_lock_was_placed_nor_who_acted() -> None:
    causes = {
        "H11-0": Cause("AML case c-1: ledger freeze in place (lock)", None, "bob-the-operator"),
        "H13-0": Cause("AML case c-1: AML cleared (unlock)", None, "bob-the-operator"),
        "H12-0": Cause("distribution d: redeemed at maturity", "Distribution d", "alice", True),
    }
    shown = register_at(causes=causes).extract("inv-bob").shown_to_holder().as_json()
    locks = [c for c in shown["changes"] if c["kind"] in ("LOCKED", "UNLOCKED")]
    assert [c["cause"] for c in locks] == [RESTRICTION_CHANGED] * 2
    assert all(c["operator"] is None for c in shown["changes"])
    assert "AML" not in str(shown)
    ada = register_at(causes=causes).extract("inv-ada").shown_to_holder().as_json()
    assert [c["cause"] for c in ada["changes"]][-1] == "distribution d: redeemed at maturity"

"""Holders of record: who holds an instrument, and how many units, as one validated ledger shows
them, checked against the platform's records before anything is paid.

Units move only through the platform: the company authorizes every holder (RequireAuth) and
holders can only give units back to it. So the holders the records expect are all there can be,
and the issuance's OutstandingAmount proves it: if the units on the expected wallets add up to
it, no one else holds any. Any difference stops the distribution before a payment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import TransientFault
from domain.purchase import Purchase, PurchaseStatus
from domain.settlement import Step


@dataclass(frozen=True)
class Holding:
    investor_id: str
    address: str
    units: int
    locked: bool = False  # the ledger lock of an AML block (domain.compliance)


@dataclass(frozen=True)
class HoldersOfRecord:
    instrument_id: str
    issuance_id: str
    ledger_index: int  # the one validated ledger every figure was read from
    holdings: tuple[Holding, ...]  # holders with units, by investor id

    @property
    def units(self) -> int:
        return sum(h.units for h in self.holdings)


class HoldersDiffer(Exception):
    """The ledger and the records disagree about who holds what: nothing is paid."""

    def __init__(self, differences: list[str]) -> None:
        super().__init__("; ".join(differences))
        self.differences = differences


def holders_of_record(
    instrument_id: str,
    issuance_id: str,
    ledger_index: int,
    outstanding: int,
    on_ledger: Mapping[str, Holding],
    in_records: Mapping[str, int],
) -> HoldersOfRecord:
    """The holders, if the ledger and the records agree; else HoldersDiffer naming every
    difference. `on_ledger`: each expected investor's holding as the ledger shows it (units 0
    when their wallet holds none); `in_records`: the units the records say each investor holds;
    `outstanding`: the issuance's OutstandingAmount in the same ledger."""
    differences = [
        f"investor {investor}: {_shown(on_ledger.get(investor))}, the records say {units} units"
        for investor, units in sorted(in_records.items())
        if investor not in on_ledger or on_ledger[investor].units != units
    ]
    differences += [
        f"investor {investor}: {holding.units} units on the ledger, none in the records"
        for investor, holding in sorted(on_ledger.items())
        if investor not in in_records and holding.units
    ]
    on_known_wallets = sum(h.units for h in on_ledger.values())
    if on_known_wallets != outstanding:
        differences.append(
            f"issuance {issuance_id}: {outstanding} units outstanding, {on_known_wallets} on the "
            f"investors' wallets: {outstanding - on_known_wallets} held outside the platform"
        )
    if differences:
        raise HoldersDiffer(differences)
    holdings = tuple(h for _, h in sorted(on_ledger.items()) if h.units)
    return HoldersOfRecord(instrument_id, issuance_id, ledger_index, holdings)


def _shown(holding: Holding | None) -> str:
    return "no wallet" if holding is None else f"{holding.units} units on the ledger"


def units_in_records(purchases: Iterable[Purchase], ledger_index: int) -> dict[str, int]:
    """Units each investor holds by the records as of a validated ledger: those their purchases
    delivered by that ledger, less those taken back by it (the saga's compensation)."""
    held: dict[str, int] = {}
    for purchase in purchases:
        delivered = _validated_by(purchase.transactions.get(Step.DELIVER.value), ledger_index)
        taken_back = _validated_by(purchase.transactions.get(Step.TAKE_BACK.value), ledger_index)
        if delivered and not taken_back:
            held[purchase.investor_id] = held.get(purchase.investor_id, 0) + purchase.units
    return held


def check_settled(purchases: Iterable[Purchase]) -> None:
    """A TransientFault (the workflow retries it, as any other) unless every purchase of the
    instrument has finished or been parked for an operator, whose records stand as they are: a
    purchase still settling may have its delivery in the ledger and not yet in the records."""
    settling = sorted(
        p.purchase_id
        for p in purchases
        if not p.status.is_final and p.status is not PurchaseStatus.NEEDS_OPERATOR
    )
    if settling:
        more = f" and {len(settling) - 3} more" if len(settling) > 3 else ""
        raise TransientFault(f"purchases still settling: {', '.join(settling[:3])}{more}")


def _validated_by(transaction: Mapping[str, Any] | None, ledger_index: int) -> bool:
    if not transaction or transaction.get("result") != "tesSUCCESS":
        return False
    validated_in = transaction.get("ledger_index")
    return validated_in is not None and int(validated_in) <= ledger_index

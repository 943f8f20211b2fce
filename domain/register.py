"""The holder register of an instrument (eWpG sections 17-19): who holds how many units at a
validated ledger, their outstanding nominal and restrictions, and every change in order with
the transaction, the execution that caused it and the operator if one acted.

The ledger is the register: units and locks are read from it, and every change is a validated
transaction of the company (it alone moves or locks units). The records only name who each
holder is and why each change happened.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.cash_flows import CouponPeriod
from domain.compliance import TF_MPT_LOCK, TF_MPT_UNLOCK


class ChangeKind(StrEnum):
    ISSUED = "ISSUED"  # units delivered to the holder
    TAKEN_BACK = "TAKEN_BACK"  # units clawed back by the company (an undone purchase)
    REDEEMED = "REDEEMED"  # units clawed back at maturity, once repaid
    LOCKED = "LOCKED"  # an AML block: the holder's units may not move
    UNLOCKED = "UNLOCKED"


class Restriction(StrEnum):
    FROZEN = "FROZEN"  # the holder's stablecoin line: no payment in or out
    LOCKED = "LOCKED"  # the holder's units
    HELD_IN_SUSPENSE = "HELD_IN_SUSPENSE"  # payments kept by the company until reinstated


@dataclass(frozen=True)
class Cause:
    """Why a transaction happened, as the records know it."""

    what: str  # "purchase purchase-1 deliver", "distribution SME-A:2027-05-05", "AML case c-1"
    execution: str | None = None  # the workflow execution that sent it
    operator: str | None = None  # who acted, when an operator did
    redemption: bool = False  # a clawback at maturity, not an undoing


@dataclass(frozen=True)
class Change:
    ledger_index: int
    tx_hash: str
    closed_at: datetime | None
    holder: str  # the address
    kind: ChangeKind
    units: int  # the change in units held: + issued, - taken back or redeemed, 0 a lock
    investor_id: str | None = None
    cause: Cause | None = None

    def as_json(self) -> dict[str, Any]:
        cause = self.cause or Cause("not in the records")
        return {
            "ledger_index": self.ledger_index, "tx_hash": self.tx_hash,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "holder": self.holder, "investor_id": self.investor_id, "kind": self.kind.value,
            "units": self.units, "cause": cause.what, "execution": cause.execution,
            "operator": cause.operator,
        }  # fmt: skip


@dataclass(frozen=True)
class Entry:
    address: str
    investor_id: str | None  # None: a holder outside the records (the reconciliation says so)
    units: int
    outstanding_nominal: Decimal
    restrictions: tuple[Restriction, ...] = ()
    held_in_suspense: Decimal = Decimal(0)

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.address, "investor_id": self.investor_id, "units": self.units,
            "outstanding_nominal": str(self.outstanding_nominal),
            "restrictions": [r.value for r in self.restrictions],
            "held_in_suspense": str(self.held_in_suspense),
        }  # fmt: skip


@dataclass(frozen=True)
class HolderRegister:
    instrument_id: str
    issuance_id: str
    ledger_index: int
    as_of: datetime | None  # the ledger's close time
    nominal_per_unit: Decimal  # outstanding on the register's date
    entries: tuple[Entry, ...]
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def units(self) -> int:
        return sum(e.units for e in self.entries)

    def extract(self, investor_id: str) -> HolderRegister:
        """The holder's own extract: their entry and their changes, nobody else's."""
        return replace(
            self,
            entries=tuple(e for e in self.entries if e.investor_id == investor_id),
            changes=tuple(c for c in self.changes if c.investor_id == investor_id),
        )

    def shown_to_holder(self) -> HolderRegister:
        """What a holder's extract tells them: every change and restriction, but never why a
        lock was placed (an AML case: tipping-off) nor which of the staff acted."""
        return replace(self, changes=tuple(_shown(c) for c in self.changes))

    def as_json(self) -> dict[str, Any]:
        return {
            "instrument_id": self.instrument_id, "issuance_id": self.issuance_id,
            "ledger_index": self.ledger_index,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "nominal_per_unit": str(self.nominal_per_unit), "units": self.units,
            "holders": [e.as_json() for e in self.entries],
            "changes": [c.as_json() for c in self.changes],
        }  # fmt: skip

    def csv(self) -> str:
        """Two sections, each with its header: the holders, then the changes in order."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        header = self.as_json()
        writer.writerow(["instrument_id", "issuance_id", "ledger_index", "as_of"])
        writer.writerow(
            [header[k] for k in ("instrument_id", "issuance_id", "ledger_index", "as_of")]
        )
        for rows in ([e.as_json() for e in self.entries], [c.as_json() for c in self.changes]):
            writer.writerow([])
            if rows:
                writer.writerow(list(rows[0]))
                writer.writerows([_cell(v) for v in row.values()] for row in rows)
        return out.getvalue()


RESTRICTION_CHANGED = "a restriction on the holding changed"


def _shown(change: Change) -> Change:
    if change.kind in (ChangeKind.LOCKED, ChangeKind.UNLOCKED):
        return replace(change, cause=Cause(RESTRICTION_CHANGED))
    if change.cause is None:
        return change
    return replace(change, cause=replace(change.cause, operator=None))


def _cell(value: Any) -> Any:
    return " ".join(value) if isinstance(value, list) else value


def nominal_per_unit_on(unit_price: Decimal, periods: Sequence[CouponPeriod], day: date) -> Decimal:
    """What a unit still owes on `day`: its price at issue less the principal paid (by each
    payment date passed) and the nominal written down (by each period's end passed)."""
    repaid = sum((p.principal_per_unit for p in periods if p.payment_date <= day), Decimal(0))
    lost = sum((p.written_down_per_unit for p in periods if p.accrual_end <= day), Decimal(0))
    return max(unit_price - repaid - lost, Decimal(0))


def changes_on_ledger(
    entries: Iterable[Mapping[str, Any]], issuance_id: str, company: str
) -> list[Change]:
    """Each validated company transaction that changed a holding of the issuance or its lock,
    from account_tx entries (in any order), in ledger order."""
    found = []
    for entry in entries:
        tx = entry.get("tx_json") or entry.get("tx") or {}
        meta = entry.get("meta") or {}
        if not isinstance(meta, dict) or meta.get("TransactionResult") != "tesSUCCESS":
            continue
        change = _change(tx, meta, entry, issuance_id, company)
        if change is not None:
            found.append((int(meta.get("TransactionIndex", 0)), change))
    found.sort(key=lambda pair: (pair[1].ledger_index, pair[0]))
    return [change for _, change in found]


def _change(
    tx: Mapping[str, Any],
    meta: Mapping[str, Any],
    entry: Mapping[str, Any],
    issuance_id: str,
    company: str,
) -> Change | None:
    if tx.get("Account") != company:
        return None
    kind, holder, units = _effect(tx, meta, issuance_id)
    if kind is None or holder is None:
        return None
    index = int(entry.get("ledger_index") or tx.get("ledger_index") or 0)
    tx_hash = str(entry.get("hash") or tx.get("hash"))
    closed = entry.get("close_time_iso")
    closed_at = datetime.fromisoformat(closed) if isinstance(closed, str) else None
    return Change(index, tx_hash, closed_at, holder, kind, units)


def _effect(
    tx: Mapping[str, Any], meta: Mapping[str, Any], issuance_id: str
) -> tuple[ChangeKind | None, str | None, int]:
    kind = tx.get("TransactionType")
    if kind == "MPTokenIssuanceSet" and tx.get("MPTokenIssuanceID") == issuance_id:
        flags = int(tx.get("Flags", 0))
        lock = ChangeKind.LOCKED if flags & TF_MPT_LOCK else None
        lock = ChangeKind.UNLOCKED if flags & TF_MPT_UNLOCK else lock
        return lock, tx.get("Holder"), 0
    amount = meta.get("delivered_amount", tx.get("Amount"))
    if not isinstance(amount, dict) or amount.get("mpt_issuance_id") != issuance_id:
        return None, None, 0
    units = int(amount["value"])
    if kind == "Payment":
        return ChangeKind.ISSUED, tx.get("Destination"), units
    if kind == "Clawback":
        return ChangeKind.TAKEN_BACK, tx.get("Holder"), -units
    return None, None, 0


def holder_register(
    instrument_id: str,
    issuance_id: str,
    ledger_index: int,
    as_of: datetime | None,
    nominal_per_unit: Decimal,
    holdings: Mapping[str, tuple[int, bool]],
    changes: Sequence[Change],
    *,
    investors: Mapping[str, str],
    frozen: Iterable[str] = (),
    held: Mapping[str, Decimal] | None = None,
    causes: Mapping[str, Cause] | None = None,
) -> HolderRegister:
    """The register at `ledger_index`. `holdings`: each address's (units, locked) on the ledger;
    `investors`: address -> investor id as the records know them; `frozen`: addresses whose
    stablecoin line is frozen; `held`: investor -> payments held in suspense; `causes`: tx hash
    -> why. Holders with no unit and no restriction are not listed."""
    held, causes, frozen = held or {}, causes or {}, set(frozen)
    entries = []
    for address, (units, locked) in sorted(holdings.items()):
        investor = investors.get(address)
        suspended = held.get(investor, Decimal(0)) if investor else Decimal(0)
        restrictions = tuple(
            r for r, applies in (
                (Restriction.FROZEN, address in frozen), (Restriction.LOCKED, locked),
                (Restriction.HELD_IN_SUSPENSE, suspended > 0),
            ) if applies
        )  # fmt: skip
        if units or restrictions:
            entries.append(
                Entry(address, investor, units, units * nominal_per_unit, restrictions, suspended)
            )
    named = tuple(
        _named(change, investors.get(change.holder), causes.get(change.tx_hash))
        for change in changes
        if change.ledger_index <= ledger_index
    )
    return HolderRegister(
        instrument_id, issuance_id, ledger_index, as_of, nominal_per_unit, tuple(entries), named
    )


def _named(change: Change, investor_id: str | None, cause: Cause | None) -> Change:
    kind = change.kind
    if kind is ChangeKind.TAKEN_BACK and cause is not None and cause.redemption:
        kind = ChangeKind.REDEEMED
    return replace(change, investor_id=investor_id, cause=cause, kind=kind)

"""The validated ledger against the records, both ways, for purchases, a distribution and
withdrawals made at once: every token Payment in the window that touches the load's investors
is one the records name (by hash, with its accounts and amount), and every hash the records
name is such a Payment, validated in the window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.platform import PlatformAccounts
from tests.reliability.replay_books import ledger_transactions

# (from, to, asset, amount): the asset is "EUR" or an MPT issuance id.
Move = tuple[str, str, str, Decimal]
STEPS = ("mint", "transfer", "deliver")  # a purchase's record steps, each with its hash


@dataclass(frozen=True)
class Recorded:
    what: str  # e.g. "purchase-1 mint", for the report
    tx_hash: str
    move: Move


def ledger_moves(client: Any, first_ledger: int, investors: set[str]) -> dict[str, Move]:
    """Successful token Payments validated from that ledger on, to or from these investors."""
    found = {}
    for tx in ledger_transactions(client, first_ledger):
        fields, meta = tx["tx_json"], tx["meta"]
        amount, ends = meta.get("delivered_amount"), {fields["Account"], fields.get("Destination")}
        if fields["TransactionType"] != "Payment" or meta["TransactionResult"] != "tesSUCCESS":
            continue
        if not isinstance(amount, dict) or not ends & investors:  # XRP, or not the load's
            continue
        asset = str(amount.get("mpt_issuance_id") or amount["currency"])
        found[str(tx["hash"])] = (fields["Account"], fields["Destination"], asset,
                                  Decimal(amount["value"]))  # fmt: skip
    return found


def mismatches(on_ledger: dict[str, Move], recorded: Iterable[Recorded]) -> list[str]:
    kept = list(recorded)
    wrong = [
        f"{r.what} {r.tx_hash or '-'}: recorded {r.move}, ledger has {on_ledger.get(r.tx_hash)}"
        for r in kept
        if on_ledger.get(r.tx_hash) != r.move
    ]
    named = {r.tx_hash for r in kept}
    return wrong + [f"{h}: {move} on the ledger, in no record" for h, move in on_ledger.items()
                    if h not in named]  # fmt: skip


def purchases_recorded(records: Iterable[Any], accounts: PlatformAccounts) -> list[Recorded]:
    """A delivered purchase's three moves; of one undone, the steps recorded as validated (its
    other steps never moved anything, and a Payment of theirs on the ledger is in no record)."""
    found = []
    for r in records:
        address, amount = str(r.investor_address), Decimal(r.amount)
        moves = {
            "mint": (accounts.issuer, address, "EUR", amount),
            "transfer": (address, accounts.company, "EUR", amount),
            "deliver": (accounts.company, address, str(r.issuance_id), Decimal(int(r.units))),
        }
        steps = r.transactions.as_dict()
        found += [
            Recorded(f"{r.purchase_id} {step}", str(steps.get(step, {}).get("hash") or ""), move)
            for step, move in moves.items()
            if r.status == "DELIVERED" or steps.get(step, {}).get("result") == "tesSUCCESS"
        ]
    return found


def entitlements_recorded(paid: Iterable[Any], accounts: PlatformAccounts) -> list[Recorded]:
    return [
        Recorded(f"{p.investor_id} paid", str(p.tx_hash or ""),
                 (accounts.company, p.address, "EUR", p.amount))
        for p in paid
    ]  # fmt: skip


def withdrawals_recorded(
    withdrawals: Iterable[Any], address: dict[str, str], accounts: PlatformAccounts
) -> list[Recorded]:
    found = []
    for w in withdrawals:
        wallet = address[w.investor_id]
        found.append(Recorded(f"{w.withdrawal_id} redeemed", str(w.redemption_hash or ""),
                              (wallet, accounts.issuer, "EUR", w.amount)))  # fmt: skip
        if w.reissue_hash:
            found.append(Recorded(f"{w.withdrawal_id} put back", str(w.reissue_hash),
                                  (accounts.issuer, wallet, "EUR", w.amount)))  # fmt: skip
    return found

"""What moved on the ledger, as a record says and as a validated transaction shows: one
`Movement` per account and asset a transaction changed.

The reconciliation (domain/reconciliation.py) adds up the records' movements into the balances
the ledger must hold, and matches both sides' movements by transaction hash to name the
transactions behind a difference. The rules here are the ledger effects of each workflow step:

    purchase     mint +A investor (taken in) · transfer -A investor +A company ·
                 deliver +U investor · take back -U investor ·
                 redeem -A company (taken in back) · claw back -A investor (taken in back)
    distribution a holder's payment -A company +A holder · at maturity -U holder
    withdrawal   redeem -A investor (paid out) · re-issue +A investor (paid out back)
    collection   +A company (taken in)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.distribution import EntitlementStatus, HolderPayment
from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts
from domain.purchase import Purchase
from domain.settlement import Step
from domain.withdrawal import Withdrawal

STABLECOIN = STABLECOIN_CURRENCY  # the asset name of the stablecoin; an issuance id otherwise


class Supply(StrEnum):
    """How a movement changed the stablecoin in circulation."""

    TAKEN_IN = "TAKEN_IN"  # minted for money the provider took in, or burnt when undone
    PAID_OUT = "PAID_OUT"  # burnt for money paid out to a bank, or minted when it came back
    ISSUER = "ISSUER"  # minted or burnt, as the ledger shows it: it cannot tell why


@dataclass(frozen=True)
class Validated:
    """A transaction the validated ledger holds as a success, as a record keeps it."""

    tx_hash: str
    ledger_index: int


@dataclass(frozen=True)
class Movement:
    tx_hash: str
    ledger_index: int
    account: str
    asset: str  # STABLECOIN, or an instrument's MPT issuance id
    change: Decimal
    supply: Supply | None = None
    cause: str = ""  # what the record calls it: "purchase p-1 mint"


def validated(details: Mapping[str, Any] | None) -> Validated | None:
    """A record's transaction details ({hash, ledger_index, result}) if they say validated
    success; None for anything else (pending, failed, never sent)."""
    if not details or details.get("result") != "tesSUCCESS":
        return None
    tx_hash, index = details.get("hash"), details.get("ledger_index")
    if not tx_hash or index is None:
        return None
    return Validated(str(tx_hash), int(index))


def of_purchase(purchase: Purchase, accounts: PlatformAccounts) -> list[Movement]:
    """The movements of every saga step the purchase's record holds as validated."""
    amount, units = Decimal(purchase.amount or 0), Decimal(purchase.units)
    investor, company, issuance = purchase.investor_address, accounts.company, purchase.issuance_id
    effects: dict[Step, list[tuple[str | None, str | None, Decimal, Supply | None]]] = {
        Step.MINT: [(investor, STABLECOIN, amount, Supply.TAKEN_IN)],
        Step.TRANSFER: [(investor, STABLECOIN, -amount, None), (company, STABLECOIN, amount, None)],
        Step.DELIVER: [(investor, issuance, units, None)],
        Step.TAKE_BACK: [(investor, issuance, -units, None)],
        Step.REDEEM: [(company, STABLECOIN, -amount, Supply.TAKEN_IN)],
        Step.CLAW_BACK: [(investor, STABLECOIN, -amount, Supply.TAKEN_IN)],
    }  # fmt: skip
    moved = []
    for step, changes in effects.items():
        done = validated(purchase.transactions.get(step.value))
        if done is None:
            continue
        cause = f"purchase {purchase.purchase_id} {step.value}"
        moved += [
            Movement(done.tx_hash, done.ledger_index, account, asset, change, supply, cause)
            for account, asset, change, supply in changes
            if account and asset
        ]
    return moved


def of_entitlement(
    distribution_id: str,
    payment: HolderPayment,
    company: str,
    issuance_id: str,
    taken_back: Validated | None = None,
    units_taken_back: int = 0,
) -> list[Movement]:
    """A holder's payment once paid, and at maturity the units taken back."""
    moved = []
    cause = f"distribution {distribution_id} {payment.investor_id}"
    if payment.status is EntitlementStatus.PAID and payment.tx_hash and payment.ledger_index:
        at = (payment.tx_hash, payment.ledger_index)
        moved += [
            Movement(*at, company, STABLECOIN, -payment.amount, cause=cause),
            Movement(*at, payment.address, STABLECOIN, payment.amount, cause=cause),
        ]
    if taken_back is not None and units_taken_back:
        moved.append(
            Movement(
                taken_back.tx_hash,
                taken_back.ledger_index,
                payment.address,
                issuance_id,
                -Decimal(units_taken_back),
                cause=f"{cause} take-back",
            )
        )
    return moved


def of_withdrawal(
    withdrawal: Withdrawal,
    address: str,
    redeemed: Validated | None,
    reissued: Validated | None,
) -> list[Movement]:
    """The stablecoin redeemed for the payout, and put back if the payout did not happen."""
    cause = f"withdrawal {withdrawal.withdrawal_id}"
    moved = []
    for done, sign, step in ((redeemed, -1, "redeem"), (reissued, 1, "reissue")):
        if done is not None:
            change = sign * withdrawal.amount
            moved.append(
                Movement(
                    done.tx_hash, done.ledger_index, address, STABLECOIN, change,
                    Supply.PAID_OUT, f"{cause} {step}",
                )
            )  # fmt: skip
    return moved


def of_collection(collection_id: str, amount: Decimal, company: str, minted: Validated) -> Movement:
    return Movement(
        minted.tx_hash, minted.ledger_index, company, STABLECOIN, amount, Supply.TAKEN_IN,
        f"collection {collection_id}",
    )  # fmt: skip


def on_ledger(entry: Mapping[str, Any], accounts: PlatformAccounts) -> list[Movement]:
    """What one account_tx entry moved in the platform's assets: the stablecoin (the issuer's
    EUR) and the company's instruments (MPTs). Nothing for a failed transaction or any other
    kind (trust lines, Tickets, XRP)."""
    tx = entry.get("tx") or entry.get("tx_json") or {}
    meta = entry.get("meta") or {}
    tx_hash, index = tx.get("hash") or entry.get("hash"), entry.get("ledger_index")
    if index is None:
        index = tx.get("ledger_index")
    if not isinstance(meta, dict) or meta.get("TransactionResult") != "tesSUCCESS" or not tx_hash:
        return []
    kind = tx.get("TransactionType")
    amount = meta.get("delivered_amount", tx.get("Amount"))
    if not isinstance(amount, dict) or index is None:
        return []
    at = (str(tx_hash), int(index))
    if kind == "Payment":
        return _payment(at, tx["Account"], tx["Destination"], amount, accounts)
    if kind == "Clawback":
        return _clawback(at, tx, amount, accounts)
    return []


def _asset(amount: Mapping[str, Any], accounts: PlatformAccounts) -> str | None:
    if "mpt_issuance_id" in amount:
        return str(amount["mpt_issuance_id"])
    ours = amount.get("currency") == STABLECOIN and amount.get("issuer") == accounts.issuer
    return STABLECOIN if ours else None


def _issuer_of(asset: str, accounts: PlatformAccounts) -> str:
    return accounts.issuer if asset == STABLECOIN else accounts.company


def _payment(
    at: tuple[str, int],
    source: str,
    destination: str,
    amount: Mapping[str, Any],
    accounts: PlatformAccounts,
) -> list[Movement]:
    asset = _asset(amount, accounts)
    if asset is None:
        return []
    value, issuer = Decimal(str(amount["value"])), _issuer_of(asset, accounts)
    supply = Supply.ISSUER if asset == STABLECOIN and issuer in (source, destination) else None
    return [
        Movement(*at, account, asset, change, supply)
        for account, change in ((source, -value), (destination, value))
        if account != issuer
    ]


def _clawback(
    at: tuple[str, int],
    tx: Mapping[str, Any],
    amount: Mapping[str, Any],
    accounts: PlatformAccounts,
) -> list[Movement]:
    if "mpt_issuance_id" in amount:
        if tx.get("Account") != accounts.company:
            return []
        return [Movement(*at, tx["Holder"], amount["mpt_issuance_id"], -Decimal(amount["value"]))]
    if tx.get("Account") != accounts.issuer or amount.get("currency") != STABLECOIN:
        return []
    # A trust line clawback's amount names the holder as its "issuer" (XLS-39).
    holder = str(amount["issuer"])
    return [Movement(*at, holder, STABLECOIN, -Decimal(amount["value"]), Supply.ISSUER)]

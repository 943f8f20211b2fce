"""The daily three-way reconciliation: what the validated ledger holds, what the platform's
records say it should, and what the payment provider settled, compared figure by figure.

Every difference is reported with the accounts and amounts on each side, and never corrected:
a difference is a question for an operator (a ledger payment with no record, a record with no
ledger effect, a payout the provider made for no withdrawal, a wrong amount, a holder outside the
records). A clean day says so, with its totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

K = TypeVar("K")


@dataclass(frozen=True)
class LedgerSide:
    """One validated ledger: EUR by wallet (address), units by (issuance, address)."""

    ledger_index: int
    stablecoin_outstanding: Decimal
    wallets: Mapping[str, Decimal]  # every holder of the stablecoin but the company
    company: Decimal
    units: Mapping[tuple[str, str], int]
    issuances: Mapping[str, int]  # outstanding units by issuance


@dataclass(frozen=True)
class RecordsSide:
    """The same, as the records say it must be at the cut-off."""

    taken_in: Decimal  # deposits delivered and collections: the stablecoin minted and kept
    paid_out: Decimal  # withdrawals redeemed and not put back
    wallets: Mapping[str, Decimal]  # paid to each holder, less what they withdrew
    company: Decimal
    units: Mapping[tuple[str, str], int]
    issuances: Mapping[str, int]  # sold less redeemed
    payments: Mapping[str, Decimal]  # money in the provider announced, by payment
    payouts: Mapping[str, Decimal]  # withdrawals paid out, by withdrawal
    refunds: Mapping[str, Decimal]  # purchases refunded, by purchase


@dataclass(frozen=True)
class ProviderSide:
    """What the payment provider settled up to the cut-off."""

    payments: Mapping[str, Decimal]
    payouts: Mapping[str, Decimal]
    refunds: Mapping[str, Decimal]


@dataclass(frozen=True)
class Difference:
    """One figure two sides disagree on; None: that side has nothing under it."""

    figure: str  # e.g. "wallet", "holding", "payout"
    subject: str  # the account, holding or id
    said: Mapping[str, Decimal | None]  # side -> its value
    transactions: tuple[str, ...] = ()  # the ledger's, where the adapter found them

    def as_json(self) -> dict[str, Any]:
        said = {side: None if v is None else str(v) for side, v in self.said.items()}
        return {"figure": self.figure, "subject": self.subject, **said,
                "transactions": list(self.transactions)}  # fmt: skip


@dataclass(frozen=True)
class Reconciliation:
    ledger_index: int
    differences: tuple[Difference, ...]
    totals: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.differences


def reconcile(ledger: LedgerSide, records: RecordsSide, provider: ProviderSide) -> Reconciliation:
    """Every figure the ledger and the records hold, and the records and the provider."""
    expected_outstanding = records.taken_in - records.paid_out
    differences = [
        *_compared("stablecoin outstanding", {"": ledger.stablecoin_outstanding},
                   {"": expected_outstanding}),
        *_compared("company", {"": ledger.company}, {"": records.company}),
        *_compared("wallet", ledger.wallets, records.wallets),
        *_compared("holding", _named(ledger.units), _named(records.units)),
        *_compared("issuance", ledger.issuances, records.issuances),
        *_compared("payment", records.payments, provider.payments, ("records", "provider")),
        *_compared("payout", records.payouts, provider.payouts, ("records", "provider")),
        *_compared("refund", records.refunds, provider.refunds, ("records", "provider")),
    ]  # fmt: skip
    totals = {
        "stablecoin_outstanding": ledger.stablecoin_outstanding,
        "held_by_investors": sum(ledger.wallets.values(), Decimal(0)),
        "company": ledger.company,
        "paid_in": sum(provider.payments.values(), Decimal(0)),
        "paid_out": sum(provider.payouts.values(), Decimal(0)),
        "refunded": sum(provider.refunds.values(), Decimal(0)),
    }
    return Reconciliation(ledger.ledger_index, tuple(differences), totals)


def _compared(
    figure: str,
    first: Mapping[K, Decimal] | Mapping[K, int],
    second: Mapping[K, Decimal] | Mapping[K, int],
    sides: tuple[str, str] = ("ledger", "records"),
) -> list[Difference]:
    """A difference for every key whose values differ, a missing one counting as zero: an
    empty wallet is no difference, an unknown non-zero one is."""
    found = []
    for key in sorted({*first, *second}, key=str):
        one, two = first.get(key), second.get(key)
        if Decimal(one or 0) != Decimal(two or 0):
            said = {sides[0]: _decimal(one), sides[1]: _decimal(two)}
            found.append(Difference(figure, str(key), said))
    return found


def _decimal(value: Decimal | int | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _named(units: Mapping[tuple[str, str], int]) -> dict[str, int]:
    return {f"{issuance}/{holder}": count for (issuance, holder), count in units.items()}

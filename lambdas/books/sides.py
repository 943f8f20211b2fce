"""The three sides of a day's books, read for one validated ledger and one cut-off time
(domain/reconciliation.py compares them):

- the ledger: every holder of the stablecoin (the issuer's trust lines), every holder of each
  instrument, each issuance's outstanding units, and what the issuer's and the company's
  transactions moved (every mint, burn and company payment touches one of them);
- the records: purchases, distributions, withdrawals and collections, each as the ledger
  effects its transactions had (domain/bookings.py), and the money the provider announced,
  paid out and refunded by the cut-off;
- the payment provider's settlement report up to the cut-off.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from xrpl.utils import ripple_time_to_datetime

from domain import bookings, business_keys
from domain.bookings import STABLECOIN, Movement
from domain.distribution import EntitlementStatus
from domain.platform import PlatformAccounts
from domain.reconciliation import (
    LedgerSide,
    ProviderSide,
    RecordsSide,
    last_ledger_closed_by,
    payouts_settled_by,
    provider_side,
    records_at,
    refunds_settled_by,
)
from domain.withdrawal import Withdrawal
from lambdas.books import provider_report
from lambdas.config import settings
from lambdas.ledger_adapter.client import LedgerRequestFailed
from lambdas.ledger_adapter.quorum import LedgerQuorum
from lambdas.records import (
    distributions,
    instruments,
    payments,
    purchases,
    submissions,
    wallets,
    withdrawals,
)
from lambdas.records.submissions import Status, Submission


@functools.cache
def ledger_quorum() -> LedgerQuorum:
    return LedgerQuorum(settings().xrpl_urls)


def ledger_for(cut_off: datetime, ledger: LedgerQuorum) -> int:
    """The newest validated ledger closed by the cut-off."""
    latest = ledger.validated_ledger_index()
    return last_ledger_closed_by(
        cut_off, latest, lambda index: ripple_time_to_datetime(ledger.close_time(index))
    )


def ledger_side(
    ledger: LedgerQuorum,
    accounts: PlatformAccounts,
    index: int,
    holders_in_records: Iterable[tuple[str, str]] = (),
) -> LedgerSide:
    """What the ledger holds in `index`. Units leave the company only by its own payments
    (holders cannot transfer them), so its transactions name every holder there can be."""
    movements = _movements(ledger, accounts, index)
    coin = _stablecoin_holders(ledger, accounts, index)
    holders = {(m.asset, m.account) for m in movements if m.asset != STABLECOIN}
    holders |= set(holders_in_records)
    units = {
        (issuance, holder): ledger.mpt_holding_at(issuance, holder, index)[0]
        for issuance, holder in sorted(holders)
    }
    issuances = {issuance for issuance, _ in holders} | {
        listed.issuance_id for listed in instruments.catalogue()
    }
    return LedgerSide(
        ledger_index=index,
        stablecoin_outstanding=sum(coin.values(), Decimal(0)),
        wallets={a: v for a, v in coin.items() if a != accounts.company},
        company=coin.get(accounts.company, Decimal(0)),
        units={key: count for key, count in units.items() if count},
        issuances={i: _outstanding(ledger, i, index) for i in sorted(issuances)},
        movements=movements,
        company_address=accounts.company,
    )


def _movements(
    ledger: LedgerQuorum, accounts: PlatformAccounts, index: int
) -> tuple[Movement, ...]:
    seen: dict[tuple[str, str, str], Movement] = {}
    for account in (accounts.issuer, accounts.company):
        for entry in ledger.transactions_up_to(account, index):
            for movement in bookings.on_ledger(entry, accounts):
                seen[(movement.tx_hash, movement.account, movement.asset)] = movement
    return tuple(seen.values())


def _stablecoin_holders(
    ledger: LedgerQuorum, accounts: PlatformAccounts, index: int
) -> dict[str, Decimal]:
    """Each holder's stablecoin: the issuer's side of a line is negative what the peer holds."""
    return {
        line["account"]: -Decimal(line["balance"])
        for line in ledger.every_line_at(accounts.issuer, index)
        if line["currency"] == STABLECOIN and Decimal(line["balance"])
    }


def _outstanding(ledger: LedgerQuorum, issuance_id: str, index: int) -> int:
    """Its OutstandingAmount; 0 before it was created or once destroyed (after maturity)."""
    try:
        return ledger.mpt_outstanding_at(issuance_id, index)
    except LedgerRequestFailed:
        return 0


def records_side(accounts: PlatformAccounts, index: int, cut_off: datetime) -> RecordsSide:
    bought = list(purchases.every())
    movements = [m for p in bought for m in bookings.of_purchase(p, accounts)]
    paid, held = _distributed(accounts)
    asked = withdrawals.every()
    movements += paid + [m for w in asked for m in _withdrawn(w)] + _collected(accounts)
    return records_at(
        movements,
        index,
        accounts.company,
        payments=payments.announced_by(cut_off),
        payouts=payouts_settled_by(asked, cut_off),
        refunds=refunds_settled_by(bought, cut_off),
        held=held,
    )


def _distributed(accounts: PlatformAccounts) -> tuple[list[Movement], Decimal]:
    """Every holder's payment and take-back, and what is held in suspense."""
    moved: list[Movement] = []
    held = Decimal(0)
    for state in distributions.every():
        listed = instruments.find(state.instrument_id)
        issuance = listed.issuance_id if listed else ""
        prefix = business_keys.distribution_payment(state.instrument_id, state.payment_date, "")
        done = {s.business_key: s for s in submissions.under(prefix)}
        taken_back = distributions.units_taken_back(state.distribution_id)
        for payment in distributions.entitlements(state.distribution_id):
            if payment.status is EntitlementStatus.HELD:
                held += payment.amount
            key = business_keys.under(prefix + payment.investor_id, "take-back")
            moved += bookings.of_entitlement(
                state.distribution_id, payment, accounts.company, issuance,
                _validated(done.get(key)), taken_back.get(payment.investor_id, 0),
            )  # fmt: skip
    return moved, held


def _withdrawn(withdrawal: Withdrawal) -> list[Movement]:
    if not (withdrawal.redemption_hash or withdrawal.reissue_hash):
        return []
    wallet = wallets.find(withdrawal.investor_id)
    if wallet is None:
        return []
    prefix = business_keys.withdrawal(withdrawal.withdrawal_id)
    done = {s.business_key.rpartition("#")[2]: s for s in submissions.under(prefix)}
    return bookings.of_withdrawal(
        withdrawal,
        wallet.address,
        _validated(done.get("redeem")) if withdrawal.redemption_hash else None,
        _validated(done.get("reissue")) if withdrawal.reissue_hash else None,
    )


def _collected(accounts: PlatformAccounts) -> list[Movement]:
    minted = []
    for submission in submissions.every_starting_with(business_keys.collection("")):
        done = _validated(submission)
        if done is not None:
            amount = Decimal(str(submission.unsigned["Amount"]["value"]))
            collection_id = submission.business_key.removeprefix(business_keys.collection(""))
            minted.append(bookings.of_collection(collection_id, amount, accounts.company, done))
    return minted


def _validated(submission: Submission | None) -> bookings.Validated | None:
    if submission is None or submission.status is not Status.SUCCEEDED:
        return None
    if not submission.tx_hash or submission.ledger_index is None:
        return None
    return bookings.Validated(submission.tx_hash, int(submission.ledger_index))


def provider_settled(cut_off: datetime) -> ProviderSide:
    return provider_side(provider_report.settlements(cut_off), cut_off)

"""An investor's statement for a period (domain/statement.py): their holdings read from the
ledger at the period's bounds, and the lines their records give between, each dated by the
ledger that validated its transaction."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from xrpl.utils import ripple_time_to_datetime

from domain import business_keys
from domain.bookings import Validated
from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts
from domain.reconciliation import last_ledger_closed_by
from domain.statement import (
    ClosedAt,
    Line,
    Period,
    Position,
    Statement,
    Window,
    entitlement_lines,
    purchase_lines,
    statement,
    withdrawal_lines,
)
from lambdas.ledger_adapter.quorum import LedgerQuorum
from lambdas.records import distributions, instruments, purchases, submissions, wallets, withdrawals
from lambdas.records.submissions import Status

INSTANT = timedelta(microseconds=1)


class NoWallet(LookupError):
    """The investor has no wallet: nothing was ever held."""


def statement_of(
    investor_id: str, period: Period, ledger: LedgerQuorum, accounts: PlatformAccounts
) -> Statement:
    """The period's statement; a period not over yet runs to the latest validated ledger."""
    wallet = wallets.find(investor_id)
    if wallet is None:
        raise NoWallet(f"{investor_id} has no wallet")
    closed_at: ClosedAt = functools.cache(
        lambda index: ripple_time_to_datetime(ledger.close_time(index))
    )
    latest = ledger.validated_ledger_index()
    opening_index = _closed_by(period.starts_at - INSTANT, latest, closed_at)
    closing_index = _closed_by(period.ends_at - INSTANT, latest, closed_at)
    window = Window(opening_index, closing_index)
    bought = purchases.of_investor(investor_id)
    instrument_ids = sorted({p.instrument_id for p in bought})
    lines: list[Line] = []
    for purchase in bought:
        lines += purchase_lines(purchase, window, period, closed_at)
    lines += _distribution_lines(investor_id, set(instrument_ids), window, period, closed_at)
    lines += _withdrawal_lines(investor_id, window, closed_at)
    issuances = {i: listed.issuance_id for i in instrument_ids if (listed := instruments.find(i))}
    position = functools.partial(
        _position, ledger, wallet.address, accounts.issuer, issuances, closed_at
    )
    return statement(investor_id, period, position(opening_index), position(closing_index), lines)


def _closed_by(moment: datetime, latest: int, closed_at: ClosedAt) -> int:
    """The last ledger closed by `moment` (0: none yet, an empty opening)."""
    if moment >= datetime.now(UTC):
        return latest
    try:
        return last_ledger_closed_by(moment, latest, closed_at)
    except ValueError:
        return 0


def _position(
    ledger: LedgerQuorum,
    address: str,
    issuer: str,
    issuances: dict[str, str],
    closed_at: ClosedAt,
    index: int,
) -> Position:
    if index == 0:
        return Position(0, None, Decimal(0), {})
    lines = ledger.every_line_at(address, index)
    coin = sum(
        (Decimal(x["balance"]) for x in lines
         if x["account"] == issuer and x["currency"] == STABLECOIN_CURRENCY),
        Decimal(0),
    )  # fmt: skip
    units = {i: ledger.mpt_holding_at(mpt, address, index)[0] for i, mpt in issuances.items()}
    return Position(index, closed_at(index), coin, units)


def _distribution_lines(
    investor_id: str, instrument_ids: set[str], window: Window, period: Period, closed_at: ClosedAt
) -> list[Line]:
    lines: list[Line] = []
    for state in distributions.every():
        if state.instrument_id not in instrument_ids:
            continue
        payment = distributions.entitlement(state.distribution_id, investor_id)
        if payment is None:
            continue
        key = business_keys.distribution_payment(
            state.instrument_id, state.payment_date, investor_id
        )
        taken = submissions.find(business_keys.under(key, "take-back"))
        taken_back = None
        if taken is not None and taken.status is Status.SUCCEEDED and taken.tx_hash:
            units = int(taken.unsigned["Amount"]["value"])
            taken_back = (Validated(taken.tx_hash, int(taken.ledger_index or 0)), units)
        lines += entitlement_lines(
            state.distribution_id, state.instrument_id, state.payment_date, payment, window,
            period, closed_at, taken_back,
        )  # fmt: skip
    return lines


def _withdrawal_lines(investor_id: str, window: Window, closed_at: ClosedAt) -> list[Line]:
    lines: list[Line] = []
    for withdrawal in withdrawals.of_investor(investor_id):
        prefix = business_keys.withdrawal(withdrawal.withdrawal_id)
        done = {
            s.business_key.rpartition("#")[2]: Validated(s.tx_hash, int(s.ledger_index))
            for s in submissions.under(prefix)
            if s.status is Status.SUCCEEDED and s.tx_hash and s.ledger_index is not None
        }
        lines += withdrawal_lines(
            withdrawal, done.get("redeem"), done.get("reissue"), window, closed_at
        )
    return lines

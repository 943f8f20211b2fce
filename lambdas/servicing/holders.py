"""Holders of record of an instrument, read from one validated ledger and checked against the
records (domain/holders.py): what a distribution pays, or why it must not."""

from __future__ import annotations

from domain.holders import (
    HoldersOfRecord,
    Holding,
    check_settled,
    holders_of_record,
    units_in_records,
)
from lambdas.ledger_adapter.quorum import LedgerQuorum
from lambdas.records import instruments, purchases, wallets


class UnknownInstrument(LookupError):
    """No instrument of the catalogue has this id."""


def holders_at(
    instrument_id: str, ledger: LedgerQuorum, ledger_index: int | None = None
) -> HoldersOfRecord:
    """The holders in `ledger_index` (default: the latest validated ledger the servers share);
    HoldersDiffer names every difference between the ledger and the records; a TransientFault
    while a purchase of the instrument has not finished."""
    listed = instruments.find(instrument_id)
    if listed is None:
        raise UnknownInstrument(f"no instrument {instrument_id}")
    index = ledger_index if ledger_index is not None else ledger.validated_ledger_index()
    bought = purchases.of_instrument(instrument_id)
    check_settled(bought)
    in_records = units_in_records(bought, index)
    on_ledger = {}
    for investor_id in in_records:
        wallet = wallets.find(investor_id)
        if wallet is not None:
            units, locked = ledger.mpt_holding_at(listed.issuance_id, wallet.address, index)
            on_ledger[investor_id] = Holding(investor_id, wallet.address, units, locked)
    outstanding = ledger.mpt_outstanding_at(listed.issuance_id, index)
    return holders_of_record(
        instrument_id, listed.issuance_id, index, outstanding, on_ledger, in_records
    )

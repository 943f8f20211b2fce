"""An investor's holdings and their cash flows, as the records keep them (domain/holdings.py):
what the frontend shows per holding, past and upcoming."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.cash_flows import schedule
from domain.distribution import HolderPayment
from domain.holdings import CashFlow, cash_flows, units_delivered
from lambdas.records import distributions, instruments, purchases
from lambdas.records.instruments import ListedInstrument


@dataclass(frozen=True)
class HoldingFlows:
    instrument: ListedInstrument
    units: int  # held now: none once repaid at maturity
    flows: list[CashFlow]


def cash_flows_of(investor_id: str, today: date) -> list[HoldingFlows]:
    """Each instrument the investor bought (delivered), in id order."""
    bought = units_delivered(purchases.of_investor(investor_id))
    paid_on = _entitlements_of(investor_id, set(bought))
    holdings = []
    for instrument_id, units in sorted(bought.items()):
        listed = instruments.find(instrument_id)
        if listed is None or listed.terms is None:
            continue
        periods = schedule(listed.terms, listed.write_downs)
        held, flows = cash_flows(units, periods, paid_on.get(instrument_id, {}), today)
        holdings.append(HoldingFlows(listed, held, flows))
    return holdings


def _entitlements_of(
    investor_id: str, instrument_ids: set[str]
) -> dict[str, dict[date, HolderPayment]]:
    """The investor's entitlement in each distribution of these instruments."""
    found: dict[str, dict[date, HolderPayment]] = {}
    for taken in distributions.every():
        if taken.instrument_id not in instrument_ids:
            continue
        payment = distributions.entitlement(taken.distribution_id, investor_id)
        if payment is not None:
            found.setdefault(taken.instrument_id, {})[taken.payment_date] = payment
    return found

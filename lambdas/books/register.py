"""The holder register of an instrument as of one validated ledger (domain/register.py): units
and locks read from the ledger, every change from the company's transactions, and the records
naming each holder and each change's cause (the purchase, the distribution, the AML case, and
the operator who acted)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from xrpl.utils import ripple_time_to_datetime

from domain import business_keys
from domain.cash_flows import schedule
from domain.distribution import EntitlementStatus
from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts
from domain.purchase import Purchase
from domain.register import (
    Cause,
    HolderRegister,
    changes_on_ledger,
    holder_register,
    nominal_per_unit_on,
)
from lambdas.ledger_adapter.quorum import LedgerQuorum
from lambdas.records import distributions, instruments, investors, purchases, submissions
from lambdas.records.instruments import ListedInstrument
from lambdas.records.submissions import Status
from lambdas.servicing.holders import UnknownInstrument


def register_at(
    instrument_id: str,
    ledger: LedgerQuorum,
    accounts: PlatformAccounts,
    index: int,
    holder: tuple[str, str] | None = None,
) -> HolderRegister:
    """The whole register, or with `holder` (investor id, address) that holder's extract,
    read from their own wallet's history rather than the company's."""
    listed = instruments.find(instrument_id)
    if listed is None:
        raise UnknownInstrument(f"no instrument {instrument_id}")
    issuance = listed.issuance_id
    as_of = ripple_time_to_datetime(ledger.close_time(index))
    history = ledger.transactions_up_to(holder[1] if holder else accounts.company, index)
    changes = changes_on_ledger(history, issuance, accounts.company)
    bought = [
        p
        for p in (
            purchases.of_investor(holder[0]) if holder else purchases.of_instrument(instrument_id)
        )
        if p.instrument_id == instrument_id
    ]
    known = {p.investor_address: p.investor_id for p in bought if p.investor_address}
    if holder is not None:
        known = {holder[1]: holder[0]}
        changes = [c for c in changes if c.holder == holder[1]]
    addresses = sorted({c.holder for c in changes} | set(known))
    holdings = {a: ledger.mpt_holding_at(issuance, a, index) for a in addresses}
    frozen = _frozen(ledger, accounts.issuer, index, holder)
    register = holder_register(
        instrument_id, issuance, index, as_of, _nominal(listed, as_of), holdings, changes,
        investors=known, frozen=frozen & set(addresses), held=_held(instrument_id, as_of),
        causes=_causes(instrument_id, bought, set(known.values())),
    )  # fmt: skip
    return register if holder is None else register.extract(holder[0])


def _frozen(
    ledger: LedgerQuorum, issuer: str, index: int, holder: tuple[str, str] | None
) -> set[str]:
    """Holders whose stablecoin line the issuer froze: from the holder's own line for an
    extract, from every line of the issuer for the register."""
    if holder is not None:
        lines = ledger.every_line_at(holder[1], index)
        ours = [line for line in lines if line["account"] == issuer]
        return {holder[1] for line in ours if line["currency"] == STABLECOIN_CURRENCY
                and line.get("freeze_peer")}  # fmt: skip
    return {
        line["account"]
        for line in ledger.every_line_at(issuer, index)
        if line["currency"] == STABLECOIN_CURRENCY and line.get("freeze")
    }


def _nominal(listed: ListedInstrument, as_of: datetime) -> Decimal:
    if listed.terms is None:
        return Decimal(listed.unit_price)
    periods = schedule(listed.terms, listed.write_downs)
    return nominal_per_unit_on(listed.terms.unit_price, periods, as_of.date())


def _held(instrument_id: str, as_of: datetime) -> dict[str, Decimal]:
    held: dict[str, Decimal] = {}
    for state in distributions.every():
        if state.instrument_id != instrument_id or state.payment_date > as_of.date():
            continue
        for payment in distributions.entitlements(state.distribution_id):
            if payment.status is EntitlementStatus.HELD:
                held[payment.investor_id] = (
                    held.get(payment.investor_id, Decimal(0)) + payment.amount
                )
    return held


def _causes(instrument_id: str, bought: list[Purchase], holders: set[str]) -> dict[str, Cause]:
    """Each transaction's cause, by hash: the purchases' steps, the distributions' take-backs
    at maturity, and the AML decisions' locks."""
    causes: dict[str, Cause] = {}
    for purchase in bought:
        for step, details in purchase.transactions.items():
            if details.get("hash"):
                what = f"purchase {purchase.purchase_id} {step}"
                causes[str(details["hash"])] = Cause(what, purchase.execution_arn)
    for state in distributions.every():
        if state.instrument_id != instrument_id:
            continue
        prefix = business_keys.distribution_payment(state.instrument_id, state.payment_date, "")
        for done in submissions.under(prefix):
            if (
                done.status is Status.SUCCEEDED
                and done.tx_hash
                and done.business_key.endswith("#take-back")
            ):
                causes[done.tx_hash] = Cause(
                    f"distribution {state.distribution_id}: redeemed at maturity",
                    f"Distribution {state.instrument_id}-{state.payment_date.isoformat()}",
                    state.approved_by, redemption=True,
                )  # fmt: skip
    for investor_id in sorted(holders):
        causes |= _aml_causes(investor_id)
    return causes


def _aml_causes(investor_id: str) -> dict[str, Cause]:
    trail = investors.audit_trail(investor_id)
    deciders = {
        entry.case_id: entry.actor
        for entry in trail
        if entry.case_id and entry.actor.startswith("operator")
    }
    causes = {}
    for entry in trail:
        for effect, details in entry.transactions.items():
            if isinstance(details, dict) and details.get("hash"):
                # "operator <who>" when the decision named its operator (drexfy-ops does)
                operator = deciders.get(entry.case_id or "")
                who = operator and (operator.removeprefix("operator").strip() or operator)
                what = f"AML case {entry.case_id}: {entry.action} ({effect})"
                causes[str(details["hash"])] = Cause(what, None, who)
    return causes

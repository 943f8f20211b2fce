"""The catalogue as issued on the ledger: each instrument with its units counted.

Units move between available, reserved and sold only inside a purchase's own transactions
(lambdas/records/purchases.py), so the counts always add up to the tranche.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pynamodb.exceptions import GetError, PutError, UpdateError

from domain.cash_flows import (
    InstrumentTerms,
    WriteDown,
    terms_entry,
    terms_from,
    write_down_refused,
)
from domain.errors import TransientFault
from domain.instruments import Instrument
from domain.purchase import InstrumentOffer
from lambdas.aws_clients import dynamodb_fault
from lambdas.records.tables import InstrumentRecord

OPEN = "OPEN"


@dataclass(frozen=True)
class ListedInstrument:
    instrument_id: str
    issuance_id: str
    name: str
    unit_price: str  # a Decimal as text, as kept
    currency: str
    tranche_units: int
    units_available: int
    units_reserved: int
    units_sold: int
    status: str
    units_redeemed: int = 0  # sold, then taken back at maturity once repaid
    terms: InstrumentTerms | None = None  # None: listed before terms were kept
    pays_automatically: bool = False
    write_downs: tuple[WriteDown, ...] = ()


class WriteDownRefused(ValueError):
    """The write-down cannot be recorded: the message says why."""


def find_offer(instrument_id: str) -> InstrumentOffer | None:
    """The instrument as it is on sale now; None if it is not in the catalogue."""
    listed = find(instrument_id)
    if listed is None:
        return None
    return InstrumentOffer(
        instrument_id=listed.instrument_id,
        is_open=listed.status == OPEN,
        unit_price=Decimal(listed.unit_price),
        currency=listed.currency,
        units_available=listed.units_available,
        issuance_id=listed.issuance_id,
    )


def find(instrument_id: str) -> ListedInstrument | None:
    try:
        return _listed(InstrumentRecord.get(instrument_id, consistent_read=True))
    except InstrumentRecord.DoesNotExist:
        return None


def is_listed(instrument_id: str) -> bool:
    """Whether the instrument is in the catalogue (open or not), reading its key alone."""
    try:
        InstrumentRecord.get(instrument_id, attributes_to_get=["instrument_id"])
    except InstrumentRecord.DoesNotExist:
        return False
    except GetError as error:
        raise dynamodb_fault("instruments", error) from error
    return True


def catalogue() -> list[ListedInstrument]:
    """Every instrument, in id order (a scan: the catalogue is a handful of items)."""
    listed = (_listed(r) for r in InstrumentRecord.scan(consistent_read=True))
    return sorted(listed, key=lambda i: i.instrument_id)


def list_once(instrument: Instrument, issuance_id: str) -> bool:
    """Put the instrument in the catalogue with its whole tranche available, unless it is
    there already (its counts then stand). True if it was added."""
    try:
        InstrumentRecord(
            instrument.instrument_id,
            issuance_id=issuance_id,
            name=instrument.name,
            unit_price=str(instrument.unit_price),
            currency=instrument.currency,
            tranche_units=instrument.tranche_units,
            units_available=instrument.tranche_units,
            terms=json.dumps(terms_entry(instrument.terms)),
            pays_automatically=instrument.pays_automatically,
        ).save(condition=InstrumentRecord.instrument_id.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise dynamodb_fault(f"catalogue entry {instrument.instrument_id}", error) from error
        _keep_terms(instrument)
        return False
    return True


def _keep_terms(instrument: Instrument) -> None:
    """An entry listed before terms were kept gets them; kept terms are never changed."""
    record = InstrumentRecord(instrument.instrument_id)
    try:
        record.update(
            actions=[
                InstrumentRecord.terms.set(json.dumps(terms_entry(instrument.terms))),
                InstrumentRecord.pays_automatically.set(instrument.pays_automatically),
            ],
            condition=InstrumentRecord.terms.does_not_exist(),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise dynamodb_fault(f"terms of {instrument.instrument_id}", error) from error


def record_write_down(instrument_id: str, write_down: WriteDown, today: date) -> ListedInstrument:
    """The write-down on the instrument's record, once (by its id); WriteDownRefused if the
    terms do not allow it. Written only if the record's write-downs are still those checked."""
    listed = find(instrument_id)
    if listed is None or listed.terms is None:
        raise WriteDownRefused(f"no instrument {instrument_id} with terms")
    refused = write_down_refused(listed.terms, listed.write_downs, write_down, today)
    if refused is not None:
        raise WriteDownRefused(f"{instrument_id}: {refused}")
    if write_down in listed.write_downs:
        return listed
    before = InstrumentRecord.write_downs
    after = json.dumps([w.as_json() for w in (*listed.write_downs, write_down)])
    condition = (
        before == json.dumps([w.as_json() for w in listed.write_downs])
        if listed.write_downs
        else before.does_not_exist()
    )
    try:
        InstrumentRecord(instrument_id).update(
            actions=[InstrumentRecord.write_downs.set(after)], condition=condition
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise TransientFault(f"{instrument_id}: another write-down came first") from None
        raise dynamodb_fault(f"write-down of {instrument_id}", error) from error
    updated = find(instrument_id)
    assert updated is not None
    return updated


def _write_downs(text: str | None) -> tuple[WriteDown, ...]:
    return tuple(
        WriteDown(
            w["write_down_id"], date.fromisoformat(w["on"]), Decimal(w["per_unit"]), w["reason"]
        )
        for w in json.loads(text or "[]")
    )


def _listed(record: InstrumentRecord) -> ListedInstrument:
    return ListedInstrument(
        instrument_id=record.instrument_id,
        issuance_id=record.issuance_id,
        name=record.name,
        unit_price=record.unit_price,
        currency=record.currency,
        tranche_units=int(record.tranche_units),
        units_available=int(record.units_available),
        units_reserved=int(record.units_reserved),
        units_sold=int(record.units_sold),
        status=record.status,
        units_redeemed=int(record.units_redeemed or 0),
        terms=terms_from(json.loads(record.terms)) if record.terms else None,
        pays_automatically=bool(record.pays_automatically),
        write_downs=_write_downs(record.write_downs),
    )

"""The catalogue as the payments webhook reads it (never writes): a payment for an instrument
that is not sold here is refused at the door, before it is announced."""

from __future__ import annotations

from pynamodb.exceptions import GetError

from lambdas.aws_clients import dynamodb_fault
from lambdas.tables import InstrumentRecord


def is_listed(instrument_id: str) -> bool:
    """Whether the instrument is in the catalogue (open or not: Record deposit decides that)."""
    try:
        InstrumentRecord.get(instrument_id, attributes_to_get=["instrument_id"])
    except InstrumentRecord.DoesNotExist:
        return False
    except GetError as error:
        raise dynamodb_fault("instruments", error) from error
    return True

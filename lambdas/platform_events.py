"""Events the platform itself puts on its bus (for the frontend and the payment gateway).

Consumers deduplicate on `purchase_id`: a crash between putting an event and recording that it
was put, or an archive replay, can deliver one twice.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import boto3

from domain.errors import TransientFault
from domain.events import (  # noqa: F401 - the sources publishers name, from the catalogue
    COLLECTIONS_SOURCE,
    FRONTEND_SOURCE,
    INVESTORS_SOURCE,
    KYC_SOURCE,
    PAYMENTS_SOURCE,
    PURCHASES_SOURCE,
    WITHDRAWALS_SOURCE,
)
from lambdas.aws_clients import transient_faults
from lambdas.config import settings


@functools.cache
def _events() -> Any:
    return boto3.client("events", region_name=settings().region)


def publish(detail_type: str, detail: dict[str, Any], source: str = PURCHASES_SOURCE) -> str:
    with transient_faults(f"EventBridge PutEvents {detail_type}"):
        result = _events().put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "EventBusName": settings().event_bus_name,
                }
            ]
        )
    entry = result["Entries"][0]
    if result.get("FailedEntryCount"):
        raise TransientFault(f"{detail_type} not accepted: {entry.get('ErrorMessage')}")
    return str(entry["EventId"])

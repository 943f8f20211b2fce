"""An operator's AML decision, put on the bus as the compliance workflow takes it: the one way
`drexfy-ops investor`, the deployed demo and the smoke checks block (or unblock) an investor."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from domain.events import OPERATOR_DECISIONS


class DecisionNotPut(RuntimeError):
    pass


def put_aml_decision(
    events: Any, bus: str, investor_id: str, *, block: bool, reason: str, operator: str
) -> dict[str, Any]:
    """The decision's detail and its event id; raises when the bus did not take it."""
    detail = {
        "investor_id": investor_id,
        "case_id": f"operator-{uuid.uuid4().hex[:10]}",
        "occurred_at": datetime.now(UTC).isoformat(),
        "reason": reason,
        "operator": operator,  # in the audit trail and the holder register
    }
    result = events.put_events(
        Entries=[{
            "Source": OPERATOR_DECISIONS.source,
            "DetailType": "AmlFlagged" if block else "AmlCleared",
            "EventBusName": bus,
            "Detail": json.dumps(detail),
        }]
    )  # fmt: skip
    entry = result["Entries"][0]
    if result.get("FailedEntryCount"):
        raise DecisionNotPut(f"{investor_id}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
    return {**detail, "event_id": entry["EventId"]}

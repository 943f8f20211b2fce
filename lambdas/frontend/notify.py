"""Task "Notify …": a notification for the frontend on the bus, once per investor and case.

The bus delivers it to the frontend (an API destination in AWS). Replays of the archive re-run
workflows, and this record is what keeps them from notifying again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pynamodb.exceptions import PutError

from domain.investor import notification_reason
from lambdas import platform_events
from lambdas.aws_clients import dynamodb_fault
from lambdas.tables import NotificationRecord

logger = Logger(service="notifications")
SHARED_FIELDS = ("status", "wallet_address")
ONCE_PER_INVESTOR = frozenset({"WalletReady"})  # a wallet is ready once, whichever case asked


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    kind, investor_id, case_id = event["notification"], event["investor_id"], event["case_id"]
    # Once per decision: a case flagged again after its clearance is told again.
    occurrence = event.get("occurrence") or case_id
    notification_id = (
        f"{kind}#{investor_id}"
        if kind in ONCE_PER_INVESTOR
        else f"{kind}#{investor_id}#{occurrence}"
    )
    logger.append_keys(notification_id=notification_id)
    if _already_sent(notification_id):
        logger.info("already notified")
        return {"notification_id": notification_id, "sent": False}
    detail = event.get("detail") or {}
    payload = {
        "investor_id": investor_id,
        "case_id": case_id,
        **{k: detail[k] for k in SHARED_FIELDS if detail.get(k) is not None},
    }
    reason = notification_reason(kind, detail.get("reason"))
    if reason is not None:
        payload["reason"] = reason
    event_id = platform_events.publish(kind, payload, source=platform_events.INVESTORS_SOURCE)
    try:
        NotificationRecord(
            notification_id, kind=kind, investor_id=investor_id, event_id=event_id
        ).save()
    except PutError as error:  # sent, but not recorded: a retry may send it again, never lose it
        raise dynamodb_fault(f"notification {notification_id} not recorded", error) from error
    logger.info("frontend notified", extra={"event_id": event_id})
    return {"notification_id": notification_id, "sent": True, "event_id": event_id}


def _already_sent(notification_id: str) -> bool:
    try:
        NotificationRecord.get(notification_id, consistent_read=True)
        return True
    except NotificationRecord.DoesNotExist:
        return False

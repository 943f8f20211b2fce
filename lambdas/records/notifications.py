"""Notifications sent to the frontend: each is sent once, archive replays included."""

from __future__ import annotations

from pynamodb.exceptions import PutError

from lambdas.aws_clients import dynamodb_fault
from lambdas.records.tables import NotificationRecord


def already_sent(notification_id: str) -> bool:
    try:
        NotificationRecord.get(notification_id, consistent_read=True)
        return True
    except NotificationRecord.DoesNotExist:
        return False


def record_sent(notification_id: str, kind: str, investor_id: str, event_id: str) -> None:
    """After the event is on the bus: if this write fails, a retry may send it again, which the
    frontend tolerates; it is never lost."""
    try:
        NotificationRecord(
            notification_id, kind=kind, investor_id=investor_id, event_id=event_id
        ).save()
    except PutError as error:
        raise dynamodb_fault(f"notification {notification_id} not recorded", error) from error

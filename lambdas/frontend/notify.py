"""Task "Notify …": a notification for the frontend on the bus, once per investor and case.

The bus delivers it to the frontend (an API destination in AWS). Replays of the archive re-run
workflows, and this record is what keeps them from notifying again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain.investor import notification_id, notification_payload
from lambdas import platform_events
from lambdas.records import notifications
from lambdas.tasks import Notification, Notified, answer, parse

logger = Logger(service="notifications")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(Notification, event)
    kind, investor_id, case_id = task.notification, task.investor_id, task.case_id
    sent_as = notification_id(kind, investor_id, case_id, task.occurrence)
    logger.append_keys(notification_id=sent_as)
    if notifications.already_sent(sent_as):
        logger.info("already notified")
        return answer(Notified(sent_as, sent=False))
    payload = notification_payload(kind, investor_id, case_id, task.detail)
    event_id = platform_events.publish(kind, payload, source=platform_events.INVESTORS_SOURCE)
    notifications.record_sent(sent_as, kind, investor_id, event_id)
    logger.info("frontend notified", extra={"event_id": event_id})
    return answer(Notified(sent_as, sent=True, event_id=event_id))

"""Watching the platform's bus from tests: a queue subscribed by a rule, drained on demand."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from local.aws.platform import LocalAws


class SeenEvents(list[dict[str, Any]]):
    """Events the queue received so far (each as EventBridge delivered it)."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        super().__init__()
        self._sqs, self._queue_url = sqs, queue_url

    def drain(self) -> SeenEvents:
        while batch := self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10
        ).get("Messages", []):
            for message in batch:
                self.append(json.loads(message["Body"]))
                self._sqs.delete_message(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return self

    def events_for(self, **detail: Any) -> list[dict[str, Any]]:
        """Events whose detail has these fields, e.g. events_for(investor_id="inv-1")."""
        self.drain()
        return [e for e in self if all(e["detail"].get(k) == v for k, v in detail.items())]

    def of(self, detail_type: str, investor_id: str) -> list[dict[str, Any]]:
        """The details of one kind of event about one investor."""
        return [
            e["detail"]
            for e in self.events_for(investor_id=investor_id)
            if e["detail-type"] == detail_type
        ]


@contextmanager
def watching_bus(aws: LocalAws, *sources: str) -> Iterator[SeenEvents]:
    sqs, events = aws.client("sqs"), aws.client("events")
    name = f"observe-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    bus = aws.stack.output("EventBusName")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": list(sources)}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    try:
        yield SeenEvents(sqs, queue_url)
    finally:
        events.remove_targets(Rule=name, EventBusName=bus, Ids=["queue"])
        events.delete_rule(Name=name, EventBusName=bus)


def replay_archive(aws: LocalAws, start: float, end: float) -> str:
    """Replay the bus archive's window [start, end] onto the bus, as an operator would."""
    events = aws.client("events")
    name = f"replay-{uuid.uuid4().hex[:8]}"
    events.start_replay(
        ReplayName=name,
        EventSourceArn=aws.stack.output("EventArchiveArn"),
        EventStartTime=start,
        EventEndTime=end,
        Destination={
            "Arn": events.describe_event_bus(Name=aws.stack.output("EventBusName"))["Arn"]
        },
    )
    return name

"""The bus as the replay harness sees it: the routes the deployed stack has (which detail types
start which workflow or reach which API), every event in a window with a duplicate of each put
at once, and waiting until nothing runs any more."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from local.aws.platform import LocalAws

Pair = tuple[str, str]  # (source, detail type)


@dataclass(frozen=True)
class Route:
    """A rule of the deployed stack that matches events by detail type, and where they go."""

    rule: str
    sources: tuple[str, ...]  # exact sources
    prefixes: tuple[str, ...]  # source prefixes
    detail_types: tuple[str, ...]
    targets: tuple[str, ...]  # a workflow's name, or the API destination's endpoint
    skips_replays: bool  # `replay-name` must not exist

    def matches(self, source: str, detail_type: str) -> bool:
        by_source = source in self.sources or any(source.startswith(p) for p in self.prefixes)
        return by_source and detail_type in self.detail_types

    @property
    def outside(self) -> bool:
        """Delivered to an API outside the platform (the frontend, the payment provider)."""
        return any(t.startswith("http") for t in self.targets)


def deployed_routes(aws: LocalAws) -> list[Route]:
    """The stack's rules on the platform bus that name detail types (not its schedules)."""
    events, bus = aws.client("events"), aws.stack.output("EventBusName")
    names = sorted(
        r.ref.split("|", 1)[1] for r in aws.stack.resources.values() if r.ref.startswith(f"{bus}|")
    )
    routes = []
    for name in names:
        pattern = json.loads(events.describe_rule(Name=name, EventBusName=bus)["EventPattern"])
        if "detail-type" in pattern:
            routes.append(_route(aws, name, pattern))
    return routes


def _route(aws: LocalAws, name: str, pattern: dict[str, Any]) -> Route:
    events, bus = aws.client("events"), aws.stack.output("EventBusName")
    sources = pattern.get("source", [])
    targets = events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
    return Route(
        rule=name,
        sources=tuple(s for s in sources if isinstance(s, str)),
        prefixes=tuple(s["prefix"] for s in sources if isinstance(s, dict) and "prefix" in s),
        detail_types=tuple(pattern["detail-type"]),
        targets=tuple(_target(aws, t["Arn"]) for t in targets),
        skips_replays=pattern.get("replay-name") == [{"exists": False}],
    )


def _target(aws: LocalAws, arn: str) -> str:
    if ":states:" in arn:
        machines = {
            v: k.removesuffix("StateMachineArn")
            for k, v in aws.stack.outputs.items()
            if k.endswith("StateMachineArn")
        }
        return machines.get(arn, arn)
    if ":api-destination/" in arn:
        name = arn.split(":api-destination/", 1)[1].split("/", 1)[0]
        found = aws.client("events").describe_api_destination(Name=name)
        return str(found["InvocationEndpoint"])
    return arn


# --- every event of a window, each duplicated ----------------------------------------------------


@dataclass
class BusEvent:
    event_id: str
    source: str
    detail_type: str
    detail: dict[str, Any]
    replayed: bool

    @property
    def pair(self) -> Pair:
        return self.source, self.detail_type


@dataclass
class BusCopies:
    """Events on the bus since the watch began: the originals (the platform's, and those a test
    put as a provider or the frontend would), the copies put here, and the replayed."""

    originals: list[BusEvent] = field(default_factory=list)
    copies: list[BusEvent] = field(default_factory=list)
    replayed: list[BusEvent] = field(default_factory=list)
    duplicating: bool = True  # a copy of each original, while set
    ours: set[str] = field(default_factory=set)  # ids of the copies put
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(self) -> list[BusEvent]:
        """What EventBridge delivers outside the platform: everything but the replays."""
        with self.lock:
            return self.originals + self.copies

    def events(self) -> list[BusEvent]:
        with self.lock:
            return self.originals + self.copies + self.replayed

    def seen(self) -> int:
        with self.lock:
            return len(self.originals) + len(self.copies) + len(self.replayed)

    def _keep(self, event: BusEvent) -> bool:
        """Keep the event; True if it is an original to be duplicated."""
        with self.lock:
            if event.replayed:
                self.replayed.append(event)
                return False
            if event.event_id in self.ours:
                self.copies.append(event)
                return False
            self.originals.append(event)
            return self.duplicating


@contextmanager
def duplicating_every_event(aws: LocalAws) -> Iterator[BusCopies]:
    """A queue subscribed to every platform event; each original is put on the bus once more as
    soon as it is seen, by its publisher's source and detail type, while its first copy runs."""
    sqs, events = aws.client("sqs"), aws.client("events")
    bus, name = aws.stack.output("EventBusName"), f"copies-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    pattern = {"source": [{"prefix": "drexfy."}]}
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    target = {"Id": "queue", "Arn": arn["Attributes"]["QueueArn"]}
    events.put_targets(Rule=name, EventBusName=bus, Targets=[target])
    copies, stop = BusCopies(), threading.Event()
    worker = threading.Thread(
        target=_copy_until, args=(stop, copies, sqs, events, queue_url, bus), daemon=True
    )
    worker.start()
    try:
        yield copies
    finally:
        stop.set()
        worker.join()
        events.remove_targets(Rule=name, EventBusName=bus, Ids=["queue"])
        events.delete_rule(Name=name, EventBusName=bus)
        sqs.delete_queue(QueueUrl=queue_url)


def _copy_until(
    stop: threading.Event, copies: BusCopies, sqs: Any, events: Any, queue_url: str, bus: str
) -> None:
    while True:
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        for message in received.get("Messages", []):
            event = _bus_event(json.loads(message["Body"]))
            if copies._keep(event):
                _put_copy(events, bus, event, copies)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if not received.get("Messages"):
            if stop.is_set():
                return
            time.sleep(0.05)


def _bus_event(body: dict[str, Any]) -> BusEvent:
    return BusEvent(
        str(body["id"]), body["source"], body["detail-type"], body["detail"],
        replayed="replay-name" in body,
    )  # fmt: skip


def _put_copy(events: Any, bus: str, event: BusEvent, copies: BusCopies) -> None:
    entry = {
        "Source": event.source,
        "DetailType": event.detail_type,
        "Detail": json.dumps(event.detail),
        "EventBusName": bus,
    }
    answer = events.put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0, answer
    with copies.lock:
        copies.ours.add(str(answer["Entries"][0]["EventId"]))


# --- waiting until nothing runs ------------------------------------------------------------------


def running(aws: LocalAws, since: float) -> int:
    """Executions started since then still running, and provider answers not yet sent (other
    tests' leftovers, e.g. an answer held for good, are theirs)."""
    sfn = aws.client("stepfunctions")
    machines = [v for k, v in aws.stack.outputs.items() if k.endswith("StateMachineArn")]
    count = sum(
        1
        for arn in machines
        for e in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
        if e["startDate"].timestamp() >= since
    )
    provider = aws.provider
    assert provider is not None
    unsent = (len(a.outcomes) - len(a.webhooks) for a in provider.actions() if a.time >= since)
    return count + sum(unsent)


def settle(
    aws: LocalAws, since: float, copies: BusCopies | None = None, timeout: float = 180
) -> None:
    """Until nothing runs and the bus is still (no new event, so no copy still to come) twice
    in a row: a copy's workflow starts as its put returns, a provider answer a moment later."""
    deadline, calm, last = time.monotonic() + timeout, 0, -1
    while calm < 2:
        assert time.monotonic() < deadline, f"still running after {timeout}s"
        time.sleep(0.3)
        seen = copies.seen() if copies else 0
        calm = calm + 1 if running(aws, since) == 0 and seen == last else 0
        last = seen

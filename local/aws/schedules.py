"""EventBridge's scheduled rules, fired on demand: moto keeps their schedule but never fires it.

`fire(at)` delivers to each scheduled rule's targets the event EventBridge sends at `at` (a
"Scheduled Event" from aws.events naming the rule), through the same delivery as any other
event, so the target's permissions and input apply as in AWS. Tests and the demo choose `at`:
moving the clock to a payment date is firing the schedule with that date.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from moto.events.models import Rule, events_backends

from local.aws import patches
from local.aws.deployer import ACCOUNT_ID, REGION


def scheduled_event(rule_arn: str, at: datetime, region: str = REGION) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def scheduled_rules(account: str = ACCOUNT_ID, region: str = REGION) -> list[Rule]:
    backend = events_backends[account][region]
    return [
        rule
        for bus in backend.event_buses.values()
        for rule in bus.rules.values()
        if rule.scheduled_expression and rule.state == "ENABLED"
    ]


def fire(
    at: datetime, only: str | None = None, account: str = ACCOUNT_ID, region: str = REGION
) -> int:
    """Every enabled scheduled rule (or the one named `only`) fires once, as at `at`; how many
    targets were reached."""
    reached = 0
    for rule in scheduled_rules(account, region):
        if only is not None and rule.name != only:
            continue
        event = scheduled_event(rule.arn, at, region)
        for target in rule.targets:
            if not patches.is_handled_here(target):
                raise NotImplementedError(f"{rule.name}: target {target['Arn']} fired locally")
            patches.deliver(rule, target, event)
            reached += 1
    return reached

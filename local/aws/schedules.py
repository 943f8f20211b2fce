"""EventBridge's scheduled rules, fired on demand: moto keeps their schedule but never fires it.

`fire(at)` delivers to each scheduled rule whose schedule is due at `at` the event EventBridge
sends then (a "Scheduled Event" from aws.events naming the rule), through the same delivery as
any other event, so the target's permissions and input apply as in AWS. Tests and the demo choose
`at`: moving the clock to a payment date is firing the schedules due at that minute, and only
those, as EventBridge would. A test of one rule's target may fire it by name at any time.
"""

from __future__ import annotations

import re
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


_CRON = re.compile(r"cron\((.+)\)")
_PART = re.compile(r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?")
# EventBridge's cron fields, with their least values: minutes, hours, day-of-month, month,
# day-of-week (1 is Sunday), year.
_LEAST = (0, 0, 1, 1, 1, 1970)


def _field_matches(field: str, value: int, least: int) -> bool:
    for part in field.split(","):
        if part in ("*", "?"):
            return True
        found = _PART.fullmatch(part)
        if found is None:
            raise NotImplementedError(f"cron field {field!r}: only numbers, lists, ranges, steps")
        low, high, step = found.groups()
        first = least if low == "*" else int(low)
        last = int(high) if high else (first if step is None else value)
        if first <= value <= last and (value - first) % int(step or 1) == 0:
            return True
    return False


def due_at(expression: str, at: datetime) -> bool:
    """Whether a rule with this schedule fires in `at`'s minute (UTC). A rate has no anchor
    here, so any minute is one of its firings."""
    if expression.startswith("rate("):
        return True
    found = _CRON.fullmatch(expression)
    if found is None or len(found.group(1).split()) != len(_LEAST):
        raise ValueError(f"not an EventBridge schedule: {expression!r}")
    at = at.astimezone(UTC)
    values = (at.minute, at.hour, at.day, at.month, at.isoweekday() % 7 + 1, at.year)
    return all(map(_field_matches, found.group(1).split(), values, _LEAST))


def fire(
    at: datetime, only: str | None = None, account: str = ACCOUNT_ID, region: str = REGION
) -> int:
    """Every enabled scheduled rule due at `at` (or the one named `only`, whatever its
    schedule) fires once, as at `at`; how many targets were reached."""
    reached = 0
    for rule in scheduled_rules(account, region):
        expression = rule.scheduled_expression or ""
        chosen = rule.name == only if only is not None else due_at(expression, at)
        if not chosen:
            continue
        event = scheduled_event(rule.arn, at, region)
        for target in rule.targets:
            if not patches.is_handled_here(target):
                raise NotImplementedError(f"{rule.name}: target {target['Arn']} fired locally")
            patches.deliver(rule, target, event)
            reached += 1
    return reached

"""When a workflow should look at the ledger again after a step answered PENDING.

A transaction can validate only when a ledger closes, so looking earlier wastes a state
transition and looking much later wastes time. The step reads how long ago the last ledger
validated (rippled's `server_info` `validated_ledger.age`) and the network's usual close
interval (configuration), and the Wait state sleeps until just after the next close is due.
"""

from __future__ import annotations

MIN_WAIT_SECONDS = 1  # Step Functions waits in whole seconds
MAX_WAIT_SECONDS = 10  # a stalled network is re-checked at least this often


def seconds_until_next_check(validated_age_seconds: int | None, close_interval_seconds: int) -> int:
    """Whole seconds to wait: until the next close is due, or 1 s if it is already overdue.

    `validated_age_seconds` is None when the ledger could not say: wait one full interval."""
    if close_interval_seconds < 1:
        raise ValueError(f"a close interval of {close_interval_seconds} s is not a ledger's")
    age = 0 if validated_age_seconds is None else max(0, validated_age_seconds)
    return min(MAX_WAIT_SECONDS, max(MIN_WAIT_SECONDS, close_interval_seconds - age))

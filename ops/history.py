"""A Step Functions execution history told in plain words, one line per step that matters."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

_MAX_VALUE = 160


def describe_events(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """Lines like `+0.215s  entered "Record deposit"`, timed from the first event."""
    lines: list[str] = []
    started: datetime | None = None
    for event in events:
        stamp: datetime = event["timestamp"]
        started = started or stamp
        sentence = _sentence(event)
        if sentence:
            lines.append(f"+{(stamp - started).total_seconds():7.3f}s  {sentence}")
    return lines


def _sentence(event: Mapping[str, Any]) -> str | None:
    kind = str(event["type"])
    details: Mapping[str, Any] = next(
        (v for k, v in event.items() if k.endswith("EventDetails")), {}
    )
    if kind == "ExecutionStarted":
        return f"started with {_short(details.get('input'))}"
    if kind.endswith("StateEntered"):
        return f'entered "{details["name"]}"'
    if kind == "TaskScheduled":
        return f"  calls {_function_name(details.get('parameters'))}"
    if kind == "TaskSucceeded":
        return f"  returned {_short(_payload(details.get('output')))}"
    if kind in ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut"):
        return f"  failed: {details.get('error', kind)}: {_cause(details.get('cause'))}"
    if kind == "ExecutionSucceeded":
        return f"SUCCEEDED with {_short(details.get('output'))}"
    if kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
        outcome = kind.removeprefix("Execution").upper()
        return f"{outcome}: {details.get('error', '')}: {_cause(details.get('cause'))}"
    return None


def _function_name(parameters: str | None) -> str:
    arn = json.loads(parameters or "{}").get("FunctionName", "?")
    return str(arn).rsplit(":", 1)[-1]


def _payload(output: str | None) -> Any:
    parsed = json.loads(output or "null")
    return parsed.get("Payload", parsed) if isinstance(parsed, dict) else parsed


def _cause(cause: str | None) -> str:
    """Lambda errors carry JSON; an operator wants the message, not the stack trace."""
    try:
        parsed = json.loads(cause or "")
    except ValueError:
        return cause or ""
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed["errorMessage"])
    return str(parsed)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"

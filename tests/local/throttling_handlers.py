"""Lambda handlers for the tests of throttling (see test_throttling.py)."""

from __future__ import annotations

import time
from typing import Any


def hello(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"}


def slow(event: dict[str, Any], context: Any) -> str:
    """Holds its invocation for `seconds`, so a test can invoke beside it."""
    time.sleep(float(event.get("seconds", 0)))
    return "done"

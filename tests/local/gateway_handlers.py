"""Lambda handlers for the local API gateway's tests (the real API handlers live elsewhere)."""

from __future__ import annotations

import json
from typing import Any


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answers with the event it was given, so a test can check its shape."""
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-handler": "echo"},
        "body": json.dumps(event),
    }


def respond(event: dict[str, Any], context: Any) -> Any:
    """Returns whatever the request's JSON body carries as `result`: any response shape."""
    return json.loads(event["body"])["result"]


class HandlerFailed(Exception):
    pass


def boom(event: dict[str, Any], context: Any) -> None:
    raise HandlerFailed("the handler broke")

"""API Gateway for tests: HTTP API payload 2.0 events, as API Gateway builds them, handed to the
frontend API's handler in this process; its answers parsed back."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from local.api.proxy import decoded_path

API_ID = "frontend-test"


def http_event(
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: str | bytes | None = None,
    query: dict[str, str] | None = None,
    stage: str = "$default",
    base64_body: bool = False,
) -> dict[str, Any]:
    """The event HTTP API (payload format 2.0) sends a Lambda integration. Header names arrive
    lowercased; the path arrives decoded (as the local gateway decodes it too)."""
    path = decoded_path(path)
    now = time.time()
    request_id = uuid.uuid4().hex
    if isinstance(body, bytes) or (base64_body and body is not None):
        raw = body if isinstance(body, bytes) else body.encode()
        body, base64_body = base64.b64encode(raw).decode(), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": API_ID,
            "domainName": f"{API_ID}.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": API_ID,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "Bubble/1.0",
            },
            "requestId": request_id,
            "routeKey": f"{method} {path}",
            "stage": stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": base64_body,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if body is not None:
        event["body"] = body
    return event


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text if it is not JSON

    @property
    def problem(self) -> tuple[str, str]:
        assert isinstance(self.body, dict), self.body
        return self.body["error"], self.body["reason"]


def context() -> Any:
    from local.aws.lambda_runtime import InvocationContext

    return InvocationContext(
        "FrontendApi", "arn:aws:lambda:eu-west-1:123456789012:function:FrontendApi", 512, 30
    )


def invoke(event: dict[str, Any]) -> Answer:
    """Call the deployed function's handler with an event, as the Lambda runtime would."""
    from lambdas.frontend.api import handler

    response = handler(event, context())
    headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
    raw = response.get("body") or ""
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    return Answer(int(response["statusCode"]), headers, body)


class Frontend:
    """The frontend as Bubble's API Connector calls the API: with its bearer token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def call(self, method: str, path: str, token: str | None = "", **more: Any) -> Answer:
        """token "" means the frontend's own; None sends no Authorization header."""
        headers = dict(more.pop("headers", None) or {})
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token or self.token}")
        return invoke(http_event(method, path, headers=headers, **more))

    def get(self, path: str, **more: Any) -> Answer:
        return self.call("GET", path, **more)

    def post(self, path: str, **more: Any) -> Answer:
        return self.call("POST", path, **more)

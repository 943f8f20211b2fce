"""Lambda proxy integration, payload format 2.0: the event API Gateway's HTTP APIs send a function
and how they turn its result into the HTTP response.

References: "Create AWS Lambda proxy integrations for HTTP APIs in API Gateway" (payload format
2.0; the response inference when a function returns no `statusCode`).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.api.routes import DEFAULT_STAGE

LOG = logging.getLogger(__name__)

# Media types API Gateway passes to the function as text; any other body arrives base64-encoded.
_TEXT_TYPES = (
    "application/json",
    "application/javascript",
    "application/xml",
    "application/x-yaml",
    "application/yaml",
)


@dataclass(frozen=True)
class HttpRequest:
    """A request as the gateway received it (path and query still percent-encoded)."""

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def json_response(status: int, document: Any) -> HttpResponse:
    return HttpResponse(
        status, [("content-type", "application/json")], json.dumps(document).encode()
    )


NOT_FOUND = {"message": "Not Found"}
INTERNAL_ERROR = {"message": "Internal Server Error"}
TOO_LARGE = {"message": "Request Entity Too Large"}
TOO_MANY_REQUESTS = {"message": "Too Many Requests"}  # a route's throttling bucket is empty


def decoded_path(raw: str) -> str:
    """The path as HTTP API hands it to the function: percent-decoded, one segment at a time,
    so an escaped "/" stays escaped and never makes a new segment."""
    if "%" not in raw:
        return raw
    parts = raw.split("/")
    return "/".join(decoded if "/" not in (decoded := unquote(part)) else part for part in parts)


def build_event(
    request: HttpRequest,
    *,
    route_key: str,
    path_parameters: dict[str, str],
    stage: str = DEFAULT_STAGE,
    api_id: str = "local",
    account_id: str = "123456789012",
    domain_name: str = "127.0.0.1",
    request_id: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event for a request routed to `route_key`."""
    now = time.time() if now is None else now
    headers, cookies = _headers_and_cookies(request.headers)
    user_agent = headers.get("user-agent", "")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": decoded_path(request.raw_path),
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _joined(parse_qsl(request.raw_query, keep_blank_values=True))
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0],
        "http": {
            "method": request.method.upper(),
            "path": decoded_path(request.raw_path),
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": user_agent,
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if path_parameters:
        event["pathParameters"] = path_parameters
    if request.body:
        if _is_text(headers):
            try:
                event["body"] = request.body.decode("utf-8")
                event["isBase64Encoded"] = False
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(request.body).decode("ascii")
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def _headers_and_cookies(raw: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Header names lowercased, repeated headers joined with commas; cookies taken apart."""
    headers: dict[str, list[str]] = {}
    cookies: list[str] = []
    for name, value in raw:
        lower = name.lower()
        if lower == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        headers.setdefault(lower, []).append(value)
    return {name: ",".join(values) for name, values in headers.items()}, cookies


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, list[str]] = {}
    for name, value in pairs:
        joined.setdefault(name, []).append(value)
    return {name: ",".join(values) for name, values in joined.items()}


def _is_text(headers: dict[str, str]) -> bool:
    if headers.get("content-encoding", "identity").lower() not in ("", "identity"):
        return False
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return (
        media_type.startswith("text/")
        or media_type in _TEXT_TYPES
        or media_type.endswith(("+json", "+xml"))
    )


class MalformedResponse(ValueError):
    """The function's result is not a response API Gateway can send (it answers 500)."""


def to_http_response(payload: bytes) -> HttpResponse:
    """The HTTP response for a function's successful result (format 2.0).

    A JSON object with `statusCode` is a response: `headers`, `cookies` (one set-cookie each),
    `body` and `isBase64Encoded` are applied. Anything else (an object without `statusCode`, a
    string, a number, a list) is the body of a 200 with content-type application/json."""
    try:
        result = json.loads(payload) if payload.strip() else None
    except ValueError as error:
        raise MalformedResponse(f"the function returned invalid JSON: {error}") from error
    if not (isinstance(result, dict) and "statusCode" in result):
        # The function's own JSON is the body; a JSON string is the body's text.
        body = result.encode("utf-8") if isinstance(result, str) else payload.strip()
        return HttpResponse(200, [("content-type", "application/json")], body)
    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status!r} is not an HTTP status")
    if "multiValueHeaders" in result:
        # A payload format 1.0 field: HTTP APIs with format 2.0 ignore it, and so do we.
        LOG.warning("multiValueHeaders is ignored in payload format 2.0; use headers/cookies")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), _header_text(value)))
    for cookie in result.get("cookies") or []:
        headers.append(("set-cookie", str(cookie)))
    text = result.get("body")
    if text is None:
        data = b""
    elif not isinstance(text, str):
        raise MalformedResponse("body must be a string")
    elif result.get("isBase64Encoded"):
        try:
            data = base64.b64decode(text, validate=True)
        except binascii.Error as error:
            raise MalformedResponse("isBase64Encoded but the body is not base64") from error
    else:
        data = text.encode("utf-8")
    return HttpResponse(status, headers, data)


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

"""One HTTP request to the local gateway, headers sent exactly as given (values as UTF-8 bytes,
which the server reads as Latin-1, as a hostile client might arrange). Throttled by the gateway
(429: the route's rate, cdk/environments.py), it is sent again after a pause, as Adyen, the
providers and Bubble do; `RESENT` counts those."""

from __future__ import annotations

import http.client
import json
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

RESENT: Counter[str] = Counter()  # "after 429": requests sent again once throttled
THROTTLED = {"message": "Too Many Requests"}  # API Gateway's own answer
PAUSES = (0.2, 0.5, 1.0, 2.0, 4.0)  # then the 429 is the answer


def send(
    base_url: str, method: str, path: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[int, Any, dict[str, str]]:
    """(status, the body parsed as JSON or its text, the response's headers lowercased)."""
    answer = send_once(base_url, method, path, headers, body)
    for pause in PAUSES:
        if answer[:2] != (429, THROTTLED):
            break
        RESENT["after 429"] += 1
        time.sleep(pause)
        answer = send_once(base_url, method, path, headers, body)
    return answer


def send_once(
    base_url: str, method: str, path: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[int, Any, dict[str, str]]:
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=120)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value.encode("utf-8"))
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        raw = response.read()
        received = {name.lower(): value for name, value in response.getheaders()}
        return response.status, _parsed(raw), received
    finally:
        connection.close()


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")

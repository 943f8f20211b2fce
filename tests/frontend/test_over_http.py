"""The API behind the local HTTP API gateway built from the template: the routes of cdk/api.py
reach the handler over real HTTP, with API Gateway's own event."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from local.aws.platform import LocalAws
from tests.frontend.gateway import Frontend


def fetch(
    aws: LocalAws, method: str, path: str, token: str | None = None
) -> tuple[int, dict[str, str], Any]:
    assert aws.api_url, "the local platform runs an API gateway"
    request = urllib.request.Request(aws.api_url.rstrip("/") + path, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, dict(error.headers), error.read()
    lowered = {k.lower(): v for k, v in headers.items()}
    return status, lowered, json.loads(raw) if raw else None


def test_the_document_and_an_investor_over_http(
    aws: LocalAws, frontend: Frontend, active_investor: dict[str, str]
) -> None:
    status, _, document = fetch(aws, "GET", "/openapi.json")
    assert status == 200 and document["info"]["title"] == "Drexfy frontend API"

    path = f"/investors/{active_investor['investor_id']}"
    status, _, investor = fetch(aws, "GET", path, frontend.token)
    assert status == 200
    assert investor["wallet_address"] == active_investor["address"]

    status, headers, refusal = fetch(aws, "GET", path)
    assert status == 401 and refusal["error"] == "unauthorized"
    assert headers["www-authenticate"] == "Bearer"


def test_an_escaped_id_reaches_the_handler_decoded(aws: LocalAws, frontend: Frontend) -> None:
    status, _, refusal = fetch(aws, "GET", "/investors/inv%3A404", frontend.token)

    assert status == 404
    assert refusal == {"error": "unknown_investor", "reason": "no investor inv:404"}

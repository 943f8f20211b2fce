"""Who may call the frontend API: the frontend, by the bearer token in Secrets Manager, checked
before routing so a caller that is not the frontend learns nothing about routes or ids. Only the
OpenAPI document is public."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from lambdas.config import settings
from lambdas.frontend.faults import answer, plain, unavailable

logger = Logger(service="frontend-api")
OPENAPI_PATH = "/openapi.json"
SECRET_MAX_AGE_SECONDS = 300


def unauthenticated(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The 401 for a request without the frontend's token (503 if the token cannot be read
    now); None if it may go on. Checked before routing, so a caller that is not the frontend
    learns nothing about routes or ids."""
    if _is_public(event):
        return None
    presented = _bearer_token(event.get("headers"))
    if presented is None:
        return _unauthorized("send the frontend's token as Authorization: Bearer <token>")
    try:
        expected = _frontend_token()
    except GetParameterError as error:
        logger.warning("frontend token unreadable", extra={"fault": str(error)})
        return plain(unavailable("the API token could not be read"))
    if not expected:
        logger.error("the frontend API secret is empty: every request is refused")
        return plain(unavailable("the API token is not configured"))
    if hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected):
        return None
    return _unauthorized("the bearer token is not the frontend's")


def _unauthorized(reason: str) -> dict[str, Any]:
    headers = {"WWW-Authenticate": "Bearer"}
    return plain(answer(HTTPStatus.UNAUTHORIZED, "unauthorized", reason, headers))


def _is_public(event: Mapping[str, Any]) -> bool:
    http = (event.get("requestContext") or {}).get("http") or {}
    stage = (event.get("requestContext") or {}).get("stage")
    path = str(event.get("rawPath") or http.get("path") or "")
    if stage and stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]
    return str(http.get("method", "")).upper() == "GET" and path == OPENAPI_PATH


def _bearer_token(headers: object) -> str | None:
    if not isinstance(headers, Mapping):
        return None
    values = [str(v) for k, v in headers.items() if str(k).lower() == "authorization"]
    if len(values) != 1:
        return None
    scheme, _, token = values[0].strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _frontend_token() -> bytes:
    value = parameters.get_secret(settings().frontend_api_secret, max_age=SECRET_MAX_AGE_SECONDS)
    if isinstance(value, bytes):
        return value
    return str(value or "").encode()

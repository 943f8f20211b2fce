"""Refusals and faults of the frontend API, every one as {"error", "reason"}: a refusal's own
status, 422 for a malformed request, 415 for a body that is not JSON, 503 with Retry-After when
DynamoDB, the ledger or the bus cannot answer, 500 (logged) for a defect of ours, 404 and 405 for
routes that are not there."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from domain import portfolio
from domain.errors import TransientFault
from domain.portfolio import WalletRequestRefused
from lambdas.aws_clients import is_transient
from lambdas.frontend.models import JSON, Refusal
from lambdas.records import RecordsError

logger = Logger(service="frontend-api")
RETRY_AFTER_SECONDS = 5


def answer(
    status: int, code: str, reason: str, headers: Mapping[str, str] | None = None
) -> Response[dict[str, str]]:
    return Response(status, JSON, portfolio.problem(code, reason), dict(headers or {}))


def unavailable(reason: str) -> Response[dict[str, str]]:
    return answer(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "unavailable",
        f"{reason}; try again shortly",
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def internal(error: Exception) -> Response[dict[str, str]]:
    logger.exception("frontend API defect", extra={"error_type": type(error).__name__})
    return answer(HTTPStatus.INTERNAL_SERVER_ERROR, "internal", "the platform failed; logged")


def refused(error: Refusal) -> Response[dict[str, str]]:
    return answer(error.status, error.code, error.reason)


def wallet_refused(error: WalletRequestRefused) -> Response[dict[str, str]]:
    return answer(HTTPStatus.CONFLICT, "wallet_not_allowed", str(error))


def invalid(error: RequestValidationError) -> Response[dict[str, str]]:
    errors = list(error.errors())
    if any(tuple(e.get("loc", ()))[:1] == ("response",) for e in errors):
        # Powertools reports an answer that fails its own model like a bad request: it is ours.
        return internal(error)
    reason = portfolio.validation_reason(errors)
    return answer(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_request", reason)


def not_text(error: UnicodeDecodeError) -> Response[dict[str, str]]:
    """A binary body (API Gateway base64-encodes it) that a route's model could not decode:
    the caller's, not a defect."""
    reason = "the body is not UTF-8 text: send JSON"
    return answer(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_request", reason)


def not_json(error: RequestUnsupportedContentType) -> Response[dict[str, str]]:
    reason = "a request body is JSON: send Content-Type application/json"
    return answer(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", reason)


def transient(error: TransientFault) -> Response[dict[str, str]]:
    logger.warning("dependency unavailable", extra={"fault": str(error)})
    return unavailable("the ledger or the event bus did not answer")


def records_fault(error: RecordsError) -> Response[dict[str, str]]:
    cause = error.cause
    if isinstance(cause, BotoCoreError) or (isinstance(cause, ClientError) and is_transient(cause)):
        logger.warning("DynamoDB unavailable", extra={"fault": str(error)})
        return unavailable("the platform's records did not answer")
    return internal(error)


def defect(error: Exception) -> Response[dict[str, str]]:
    return internal(error)


def unknown_route(
    app: APIGatewayHttpResolver, routes: Mapping[str, tuple[str, ...]]
) -> Response[dict[str, str]]:
    """404 for a path no route has; 405, with Allow, for a method its route does not take."""
    method, path = app.current_event.http_method.upper(), app.current_event.path
    allowed = sorted(
        {m for rule, methods in routes.items() if _matches(rule, path) for m in methods}
    )
    if allowed:
        reason = f"{method} is not allowed on {path}; use {', '.join(allowed)}"
        refused = answer(HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed", reason)
        refused.headers["Allow"] = ", ".join(allowed)
        return refused
    return answer(HTTPStatus.NOT_FOUND, "unknown_route", f"no route {method} {path}")


def _matches(rule: str, path: str) -> bool:
    return re.fullmatch(re.sub(r"<\w+>", "[^/]+", rule), path) is not None


def plain(response: Response[dict[str, str]]) -> dict[str, Any]:
    """A Response as API Gateway (payload 2.0) takes it, outside the resolver."""
    return {
        "statusCode": int(response.status_code),
        "headers": {"Content-Type": JSON, **response.headers},
        "body": json.dumps(response.body),
        "isBase64Encoded": False,
    }


def register(app: APIGatewayHttpResolver, routes: Mapping[str, tuple[str, ...]]) -> None:
    """Every refusal and fault of `app` answered as above."""
    for kind, answering in (
        (Refusal, refused),
        (WalletRequestRefused, wallet_refused),
        (RequestValidationError, invalid),
        (RequestUnsupportedContentType, not_json),
        (UnicodeDecodeError, not_text),
        (TransientFault, transient),
        (RecordsError, records_fault),
        (Exception, defect),
    ):
        app.exception_handler(kind)(answering)

    def not_found(error: NotFoundError) -> Response[dict[str, str]]:
        return unknown_route(app, routes)

    app.not_found(not_found)

"""The frontend API's OpenAPI document, as Powertools builds it from the routes, with only the
schemas the answers use."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from lambdas.frontend.models import BEARER

API_TITLE = "Drexfy frontend API"
API_VERSION = "1.0.0"


def openapi_document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=API_TITLE,
            version=API_VERSION,
            description=(
                "Drexfy for its frontend: investors, their portfolio on the XRP Ledger, the "
                "catalogue of securitized SME credit, purchases. Every operation but this "
                "document needs `Authorization: Bearer <token>`. Every refusal is "
                '`{"error": code, "reason": sentence}`; 503 answers carry Retry-After.'
            ),
            security_schemes={
                BEARER: HTTPBearer(description="The frontend's API token (Secrets Manager)")
            },
        )
    )
    return _without_unused_schemas(document)


def _without_unused_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Powertools adds its own validation-error schemas even where every answer that used them
    was redeclared as a Problem; a reader should only see the schemas answers use."""
    schemas = document.get("components", {}).get("schemas", {})
    prefix = "#/components/schemas/"
    used: set[str] = set()
    pending = [document["paths"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] not in used:
                used.add(ref[len(prefix) :])
                pending.append(schemas.get(ref[len(prefix) :], {}))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    document["components"]["schemas"] = {k: v for k, v in schemas.items() if k in used}
    return document

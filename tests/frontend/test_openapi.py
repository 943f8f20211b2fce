"""The OpenAPI document Powertools generates from the routes and their models: valid, complete
(every route API Gateway sends here), secured as the handler is, refusals in one shape."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from domain.portfolio import IDENTIFIER_PATTERN
from tests.frontend.openapi import answer_schema


def cdk_routes() -> list[tuple[str, str]]:
    from cdk.api import ROUTES

    return [(r.method, r.path) for r in ROUTES if r.function == "FrontendApi"]


def public_routes() -> set[tuple[str, str]]:
    """Routes the CDK app marks as asking no credentials (only the document itself)."""
    from cdk.api import ROUTES

    return {
        (r.method, r.path)
        for r in ROUTES
        if r.function == "FrontendApi" and getattr(r, "public", r.path == "/openapi.json")
    }


def test_the_document_is_valid_openapi(openapi: dict[str, Any]) -> None:
    validate(openapi)

    assert openapi["openapi"].startswith("3.1")
    assert openapi["info"]["title"] == "Drexfy frontend API"
    assert openapi["info"]["version"]


def test_every_route_api_gateway_sends_here_is_documented_and_no_other(
    openapi: dict[str, Any],
) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in openapi["paths"].items()
        for method in operations
    }

    assert documented == set(cdk_routes())


def test_every_route_but_the_document_itself_declares_the_bearer_scheme(
    openapi: dict[str, Any],
) -> None:
    schemes = openapi["components"]["securitySchemes"]
    assert schemes == {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": schemes["bearer"]["description"],
        }
    }
    assert public_routes() == {("GET", "/openapi.json")}
    for method, path in cdk_routes():
        operation = openapi["paths"][path][method.lower()]
        public = (method, path) in public_routes()
        assert operation.get("security", []) == ([] if public else [{"bearer": []}]), path
        assert ("401" in operation["responses"]) != public, (method, path)


@pytest.mark.parametrize(("method", "path"), cdk_routes())
def test_every_refusal_is_documented_as_error_and_reason(
    openapi: dict[str, Any], method: str, path: str
) -> None:
    for status in openapi["paths"][path][method.lower()]["responses"]:
        if int(status) < 400:
            continue
        validator = answer_schema(openapi, path, method, int(status))
        validator.validate({"error": "some_code", "reason": "a sentence"})
        assert not validator.is_valid({"statusCode": int(status), "detail": []}), status


def test_ids_in_paths_are_published_with_their_rule(openapi: dict[str, Any]) -> None:
    parameters = [
        parameter
        for operations in openapi["paths"].values()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    ]

    names = {p["name"] for p in parameters}
    assert names == {"investor_id", "purchase_id", "instrument_id", "period"}
    assert {p["schema"]["pattern"] for p in parameters} == {IDENTIFIER_PATTERN}


def test_the_wallet_request_documents_both_of_its_answers(openapi: dict[str, Any]) -> None:
    path = "/investors/{investor_id}/wallet"
    for status in (200, 202):
        validator = answer_schema(openapi, path, "POST", status)
        validator.validate({"investor_id": "inv-1", "status": "WALLET_REQUESTED"})
        assert not validator.is_valid({"investor_id": "inv-1", "status": "PENDING"})


def test_amounts_are_published_as_decimal_text(openapi: dict[str, Any]) -> None:
    validator = answer_schema(openapi, "/investors/{investor_id}/portfolio", "GET", 200)
    holding = {
        "instrument_id": "SME-2027-A",
        "name": "Senior A",
        "issuance_id": "00",
        "units": 1,
        "unit_price": "100.00",
        "value": "100.00",
        "currency": "EUR",
    }
    portfolio = {
        "investor_id": "inv-1",
        "status": "ACTIVE",
        "wallet_address": "rW",
        "ledger_index": 9,
        "stablecoin_issuer": "rI",
        "stablecoin_balance": "0.00",
        "holdings": [holding],
        "totals": {"currency": "EUR", "stablecoin": "0", "instruments": "100", "total": "100"},
    }

    validator.validate(portfolio)
    assert not validator.is_valid({**portfolio, "stablecoin_balance": 1.5})
    assert not validator.is_valid({**portfolio, "stablecoin_balance": "1e3"})


def test_only_the_schemas_answers_use_are_published(openapi: dict[str, Any]) -> None:
    schemas = set(openapi["components"]["schemas"])

    assert {"Problem", "Investor", "InvestorPortfolio", "Catalogue", "Purchase"} <= schemas
    assert not schemas & {"HTTPValidationError", "ValidationError", "ResponseValidationError"}


def test_the_routes_the_handler_tells_apart_for_405_are_its_routes(aws: Any) -> None:
    from lambdas.frontend import api

    declared = {
        (method, rule.replace("<", "{").replace(">", "}"))
        for rule, methods in api.ROUTES.items()
        for method in methods
    }

    assert declared == set(cdk_routes())

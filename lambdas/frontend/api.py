"""The frontend's API (Bubble's API Connector): investors, their portfolio as the validated ledger
shows it, the catalogue, purchases with links to the explorer, and the wallet request after KYC.

API Gateway (HTTP API, payload 2.0) sends the routes of cdk/api.py here. Every request but the
OpenAPI document must carry the frontend's bearer token, checked before anything else. Every
refusal is {"error", "reason"}; when DynamoDB, the ledger or the bus cannot answer, the answer
is 503 with Retry-After, never a guess.
"""

from __future__ import annotations

import functools
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field
from pynamodb.exceptions import PynamoDBException

from domain import portfolio
from domain.errors import TransientFault
from domain.investor import InvestorStanding, InvestorStatus, reason_shown_to_investor
from domain.portfolio import WalletRequestOutcome, WalletRequestRefused
from domain.purchase import PurchaseStatus
from domain.purchase import reason_shown_to_investor as purchase_reason_shown
from lambdas import investor_records, platform_events, purchase_records
from lambdas.aws_clients import is_transient
from lambdas.config import settings
from lambdas.custody.wallet_generator import find_wallet
from lambdas.tables import InstrumentRecord, InvestorRecord, WalletRecord

if TYPE_CHECKING:
    from lambdas.ledger.client import LedgerClient

logger = Logger(service="frontend-api")

API_TITLE = "Drexfy frontend API"
API_VERSION = "1.0.0"
OPENAPI_PATH = "/openapi.json"
SECRET_MAX_AGE_SECONDS = 300
RETRY_AFTER_SECONDS = 5
BEARER = "bearer"
SECURED: list[dict[str, list[str]]] = [{BEARER: []}]
JSON = content_types.APPLICATION_JSON
_NO_ACCOUNT = frozenset({"actNotFound"})

app = APIGatewayHttpResolver(enable_validation=True)


# --- what the API answers -------------------------------------------------------------------

Amount = Annotated[str, Field(pattern=portfolio.AMOUNT_PATTERN, examples=["200.00"])]
InvestorId = Annotated[
    str,
    Path(pattern=portfolio.IDENTIFIER_PATTERN, description="The investor's id at the platform"),
]
PurchaseId = Annotated[
    str,
    Path(pattern=portfolio.IDENTIFIER_PATTERN, description="The purchase's id (purchase-...)"),
]


class Problem(BaseModel):
    """Every refusal: a stable code to branch on, and a sentence to show."""

    error: str = Field(examples=["unknown_investor"])
    reason: str = Field(examples=["no investor inv-42"])


class Investor(BaseModel):
    investor_id: str
    status: InvestorStatus
    wallet_address: str | None = Field(description="The custodial wallet, once made")
    reason: str | None = Field(
        description="Why the status last changed; never an AML decision's reason (tipping-off)"
    )


class InstrumentHolding(BaseModel):
    instrument_id: str
    name: str
    issuance_id: str = Field(description="The instrument's MPT issuance on the ledger")
    units: int = Field(ge=0, description="Units the investor's wallet holds")
    unit_price: Amount
    value: Amount = Field(description="units x unit_price")
    currency: str


class PortfolioTotals(BaseModel):
    currency: str
    stablecoin: Amount
    instruments: Amount
    total: Amount


class InvestorPortfolio(BaseModel):
    """Holdings as one validated ledger shows them, valued at catalogue prices."""

    investor_id: str
    status: InvestorStatus
    wallet_address: str
    ledger_index: int = Field(description="The validated ledger every holding was read from")
    stablecoin_issuer: str
    stablecoin_balance: Amount
    holdings: list[InstrumentHolding]
    totals: PortfolioTotals


class CatalogueInstrument(BaseModel):
    instrument_id: str
    name: str
    issuance_id: str
    unit_price: Amount
    currency: str
    tranche_units: int
    units_available: int
    units_reserved: int
    units_sold: int
    status: str = Field(examples=["OPEN"])


class Catalogue(BaseModel):
    instruments: list[CatalogueInstrument]


class LedgerTransaction(BaseModel):
    hash: str | None = None
    ledger_index: int | None = None
    result: str | None = Field(default=None, examples=["tesSUCCESS"])
    explorer_url: str | None = Field(default=None, description="The transaction on the explorer")


class Purchase(BaseModel):
    purchase_id: str
    payment_id: str
    investor_id: str
    instrument_id: str
    units: int
    amount: str = Field(description="As the payment was recorded", examples=["200.00"])
    currency: str
    status: PurchaseStatus
    reason: str | None = Field(description="Why it was undone, if it was")
    parked_reason: str | None = Field(
        default=None, description="Always null here: why an operator must act is for operators"
    )
    transactions: dict[str, LedgerTransaction] = Field(description="Each step's transaction")


class WalletRequest(BaseModel):
    investor_id: str
    status: WalletRequestOutcome
    wallet_address: str | None = Field(default=None, description="Set when already ACTIVE")


class Refusal(Exception):
    """A request the API answers with a 4xx and its reason."""

    def __init__(self, status: HTTPStatus, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


def _problem(code: str, description: str) -> OpenAPIResponse:
    """A refusal as the OpenAPI document describes it: its code, when, and the Problem body."""
    return {"description": f"{code}: {description}", "content": {JSON: {"model": Problem}}}


REFUSALS: dict[int, OpenAPIResponse] = {
    401: _problem("unauthorized", "No bearer token, or not the frontend's"),
    422: _problem("invalid_request", "A malformed id or request"),
    500: _problem("internal", "A defect on the platform's side (logged)"),
    503: {
        **_problem("unavailable", "DynamoDB, the ledger or the bus did not answer: retry"),
        "headers": {"Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}},
    },
}
UNKNOWN_INVESTOR = {404: _problem("unknown_investor", "No such investor")}


def _answers(
    ok: Mapping[int, str], *more: Mapping[int, OpenAPIResponse]
) -> dict[int, OpenAPIResponse]:
    answers: dict[int, OpenAPIResponse] = {code: {"description": text} for code, text in ok.items()}
    for extra in (*more, REFUSALS):
        answers.update(extra)
    return answers


# --- the routes (exactly those of cdk/api.py) ----------------------------------------------

ROUTES: dict[str, tuple[str, ...]] = {
    OPENAPI_PATH: ("GET",),
    "/instruments": ("GET",),
    "/investors/<investor_id>": ("GET",),
    "/investors/<investor_id>/portfolio": ("GET",),
    "/investors/<investor_id>/wallet": ("POST",),
    "/purchases/<purchase_id>": ("GET",),
}


@app.get(
    OPENAPI_PATH,
    operation_id="getOpenApiDocument",
    summary="This document",
    tags=["documentation"],
    responses={
        200: {"description": "The OpenAPI document of this API"},
        **{status: REFUSALS[status] for status in (422, 500)},  # 422: Powertools' default, reshaped
    },
)
def openapi_document() -> dict[str, Any]:
    return _openapi_document()


@app.get(
    "/investors/<investor_id>",
    operation_id="getInvestor",
    summary="An investor's standing and wallet",
    tags=["investors"],
    security=SECURED,
    responses=_answers({200: "The investor"}, UNKNOWN_INVESTOR),
)
def get_investor(investor_id: InvestorId) -> Investor:
    record, wallet = _investor(investor_id)
    return Investor(
        investor_id=record.investor_id,
        status=InvestorStatus(record.status),
        wallet_address=wallet.address if wallet else None,
        reason=reason_shown_to_investor(record.reason, record.aml_case_id is not None),
    )


@app.get(
    "/investors/<investor_id>/portfolio",
    operation_id="getPortfolio",
    summary="Stablecoin and instrument units on the validated ledger, valued",
    tags=["investors"],
    security=SECURED,
    responses=_answers(
        {200: "The portfolio"},
        UNKNOWN_INVESTOR,
        {409: _problem("no_wallet", "The investor has no wallet yet")},
    ),
)
def get_portfolio(investor_id: InvestorId) -> InvestorPortfolio:
    record, wallet = _investor(investor_id)
    if wallet is None:
        raise Refusal(
            HTTPStatus.CONFLICT,
            "no_wallet",
            f"investor {investor_id} has no wallet yet (status {record.status})",
        )
    # Only this route reads the ledger: xrpl-py and the KMS signer load here, not at cold start.
    from lambdas.custody.platform_signer import platform_key

    issuer = platform_key("issuer").address
    ledger_index, lines, tokens = _holdings_on_ledger(wallet.address, issuer)
    valued = portfolio.value_portfolio(
        portfolio.stablecoin_balance(lines, issuer),
        [_priced(instrument) for instrument in _catalogue()],
        portfolio.units_by_issuance(tokens),
    )
    text = portfolio.amount_text
    return InvestorPortfolio(
        investor_id=record.investor_id,
        status=InvestorStatus(record.status),
        wallet_address=wallet.address,
        ledger_index=ledger_index,
        stablecoin_issuer=issuer,
        stablecoin_balance=text(valued.stablecoin_balance),
        holdings=[
            InstrumentHolding(
                instrument_id=h.instrument.instrument_id,
                name=h.instrument.name,
                issuance_id=h.instrument.issuance_id,
                units=h.units,
                unit_price=text(h.instrument.unit_price),
                value=text(h.value),
                currency=h.instrument.currency,
            )
            for h in valued.holdings
        ],
        totals=PortfolioTotals(
            currency=valued.currency,
            stablecoin=text(valued.stablecoin_balance),
            instruments=text(valued.instruments_value),
            total=text(valued.total_value),
        ),
    )


@app.get(
    "/instruments",
    operation_id="listInstruments",
    summary="The catalogue, with units available and sold",
    tags=["instruments"],
    security=SECURED,
    responses=_answers({200: "The catalogue"}),
)
def list_instruments() -> Catalogue:
    return Catalogue(
        instruments=[
            CatalogueInstrument(
                instrument_id=i.instrument_id,
                name=i.name,
                issuance_id=i.issuance_id,
                unit_price=portfolio.amount_text(_priced(i).unit_price),
                currency=i.currency,
                tranche_units=int(i.tranche_units),
                units_available=int(i.units_available),
                units_reserved=int(i.units_reserved),
                units_sold=int(i.units_sold),
                status=i.status,
            )
            for i in sorted(_catalogue(), key=lambda i: i.instrument_id)
        ]
    )


@app.get(
    "/purchases/<purchase_id>",
    operation_id="getPurchase",
    summary="A purchase, its ledger transactions and their explorer links",
    tags=["purchases"],
    security=SECURED,
    responses=_answers(
        {200: "The purchase"}, {404: _problem("unknown_purchase", "No such purchase")}
    ),
)
def get_purchase(purchase_id: PurchaseId) -> Purchase:
    record = purchase_records.find(purchase_id)
    if record is None:
        raise Refusal(HTTPStatus.NOT_FOUND, "unknown_purchase", f"no purchase {purchase_id}")
    summary = purchase_records.summary(record)
    transactions = portfolio.with_explorer_links(summary["transactions"], settings().explorer_url)
    # Why an operator must act is for operators (it can name roles and internal faults).
    shown = {
        "reason": purchase_reason_shown(summary["reason"], PurchaseStatus(summary["status"])),
        "parked_reason": None,
    }
    return Purchase.model_validate({**summary, "transactions": transactions, **shown})


@app.post(
    "/investors/<investor_id>/wallet",
    operation_id="requestWallet",
    summary="Make the investor's wallet now that KYC is approved",
    description=(
        "202: onboarding was asked to make (or finish) the wallet; WalletReady follows as a "
        "notification. 200: the investor is already ACTIVE with a wallet; nothing was asked. "
        "Asking again is harmless."
    ),
    tags=["investors"],
    security=SECURED,
    responses={
        **_answers({200: "Already ACTIVE: the wallet"}, UNKNOWN_INVESTOR),
        202: {"description": "Wallet requested", "content": {JSON: {"model": WalletRequest}}},
        409: _problem("wallet_not_allowed", "KYC not approved, rejected, or blocked"),
    },
)
def request_wallet(investor_id: InvestorId) -> Response[WalletRequest]:
    record, wallet = _investor(investor_id)
    standing = InvestorStanding(
        investor_id, InvestorStatus(record.status), wallet.address if wallet else None
    )
    outcome = portfolio.wallet_request_outcome(standing)
    if outcome == WalletRequestOutcome.ACTIVE:
        answer = WalletRequest(
            investor_id=investor_id, status=outcome, wallet_address=standing.wallet_address
        )
        return Response(HTTPStatus.OK, JSON, answer)
    event_id = platform_events.publish(
        "WalletRequested",
        {
            "investor_id": investor_id,
            "case_id": portfolio.wallet_request_case(investor_id),
            "occurred_at": datetime.now(UTC).isoformat(),
        },
        source=platform_events.FRONTEND_SOURCE,
    )
    logger.info("wallet requested", extra={"investor_id": investor_id, "event_id": event_id})
    return Response(
        HTTPStatus.ACCEPTED, JSON, WalletRequest(investor_id=investor_id, status=outcome)
    )


# --- adapters: records and the ledger -----------------------------------------------------


def _investor(investor_id: str) -> tuple[InvestorRecord, WalletRecord | None]:
    record = investor_records.find(investor_id)
    if record is None:
        raise Refusal(HTTPStatus.NOT_FOUND, "unknown_investor", f"no investor {investor_id}")
    return record, find_wallet(investor_id)


def _catalogue() -> list[InstrumentRecord]:
    return list(InstrumentRecord.scan(consistent_read=True))


def _priced(record: InstrumentRecord) -> portfolio.PricedInstrument:
    return portfolio.PricedInstrument(
        instrument_id=record.instrument_id,
        name=record.name,
        issuance_id=record.issuance_id,
        unit_price=portfolio.decimal_from_text(record.unit_price, f"{record.instrument_id} price"),
        currency=record.currency,
    )


@functools.cache
def _ledger() -> LedgerClient:
    from lambdas.ledger.client import LedgerClient  # xrpl-py: see get_portfolio

    return LedgerClient(settings().xrpl_urls[0])  # a portfolio shown decides no money


def _holdings_on_ledger(
    address: str, issuer: str
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """The wallet's line to the issuer and its MPTokens, both from one validated ledger: a
    purchase transfers stablecoin and delivers units in one ledger, so reading them from two
    could count a purchase twice, or not at all."""
    from xrpl.models.requests import AccountLines, AccountObjects, AccountObjectType

    ledger = _ledger()
    index = ledger.validated_ledger_index()
    lines = ledger.request(
        AccountLines(account=address, peer=issuer, ledger_index=index), _NO_ACCOUNT
    ).get("lines", [])
    tokens: list[dict[str, Any]] = []
    marker: Any = None
    while True:
        result = ledger.request(
            AccountObjects(
                account=address,
                type=AccountObjectType.MPTOKEN,
                ledger_index=index,
                limit=400,
                marker=marker,
            ),
            _NO_ACCOUNT,
        )
        tokens.extend(result.get("account_objects", []))
        marker = result.get("marker")
        if not marker:
            return index, list(lines), tokens


# --- refusals and faults, all as {"error", "reason"} -----------------------------------


def _answer(
    status: int, code: str, reason: str, headers: Mapping[str, str] | None = None
) -> Response[dict[str, str]]:
    return Response(status, JSON, portfolio.problem(code, reason), dict(headers or {}))


def _unavailable(reason: str) -> Response[dict[str, str]]:
    return _answer(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "unavailable",
        f"{reason}; try again shortly",
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _internal(error: Exception) -> Response[dict[str, str]]:
    logger.exception("frontend API defect", extra={"error_type": type(error).__name__})
    return _answer(HTTPStatus.INTERNAL_SERVER_ERROR, "internal", "the platform failed; logged")


@app.exception_handler(Refusal)
def _refused(error: Refusal) -> Response[dict[str, str]]:
    return _answer(error.status, error.code, error.reason)


@app.exception_handler(WalletRequestRefused)
def _wallet_refused(error: WalletRequestRefused) -> Response[dict[str, str]]:
    return _answer(HTTPStatus.CONFLICT, "wallet_not_allowed", str(error))


@app.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[dict[str, str]]:
    errors = list(error.errors())
    if any(tuple(e.get("loc", ()))[:1] == ("response",) for e in errors):
        # Powertools reports an answer that fails its own model like a bad request: it is ours.
        return _internal(error)
    reason = portfolio.validation_reason(errors)
    return _answer(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_request", reason)


@app.exception_handler(TransientFault)
def _transient(error: TransientFault) -> Response[dict[str, str]]:
    logger.warning("dependency unavailable", extra={"fault": str(error)})
    return _unavailable("the ledger or the event bus did not answer")


@app.exception_handler(PynamoDBException)
def _records_fault(error: PynamoDBException) -> Response[dict[str, str]]:
    cause = error.cause
    if isinstance(cause, BotoCoreError) or (isinstance(cause, ClientError) and is_transient(cause)):
        logger.warning("DynamoDB unavailable", extra={"fault": str(error)})
        return _unavailable("the platform's records did not answer")
    return _internal(error)


@app.exception_handler(Exception)
def _defect(error: Exception) -> Response[dict[str, str]]:
    return _internal(error)


@app.not_found
def _unknown_route(error: NotFoundError) -> Response[dict[str, str]]:
    method, path = app.current_event.http_method.upper(), app.current_event.path
    allowed = sorted(
        {m for rule, methods in ROUTES.items() if _matches(rule, path) for m in methods}
    )
    if allowed:
        reason = f"{method} is not allowed on {path}; use {', '.join(allowed)}"
        answer = _answer(HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed", reason)
        answer.headers["Allow"] = ", ".join(allowed)
        return answer
    return _answer(HTTPStatus.NOT_FOUND, "unknown_route", f"no route {method} {path}")


def _matches(rule: str, path: str) -> bool:
    return re.fullmatch(re.sub(r"<\w+>", "[^/]+", rule), path) is not None


# --- the OpenAPI document ------------------------------------------------------------------


@functools.cache
def _openapi_document() -> dict[str, Any]:
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


# --- authentication, then the routes -------------------------------------------------------


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = _with_decoded_path(event)
    refused = _unauthenticated(event)
    if refused is not None:
        return refused
    return app.resolve(event, context)


def _with_decoded_path(event: dict[str, Any]) -> dict[str, Any]:
    """HTTP API hands the path over decoded; a gateway that passes it percent-encoded (the
    local one does) gets it decoded here, one segment at a time: an escaped "/" stays escaped,
    so it never makes a new segment (and fails the id rule instead)."""
    raw = event.get("rawPath")
    if not isinstance(raw, str) or "%" not in raw:
        return event
    segments = [unquote(part) for part in raw.split("/")]
    path = "/".join(
        decoded if "/" not in decoded else part
        for part, decoded in zip(raw.split("/"), segments, strict=True)
    )
    context = dict(event.get("requestContext") or {})
    context["http"] = {**(context.get("http") or {}), "path": path}
    return {**event, "rawPath": path, "requestContext": context}


def _unauthenticated(event: Mapping[str, Any]) -> dict[str, Any] | None:
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
        return _plain(_unavailable("the API token could not be read"))
    if not expected:
        logger.error("the frontend API secret is empty: every request is refused")
        return _plain(_unavailable("the API token is not configured"))
    if hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected):
        return None
    return _unauthorized("the bearer token is not the frontend's")


def _unauthorized(reason: str) -> dict[str, Any]:
    headers = {"WWW-Authenticate": "Bearer"}
    return _plain(_answer(HTTPStatus.UNAUTHORIZED, "unauthorized", reason, headers))


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


def _plain(response: Response[dict[str, str]]) -> dict[str, Any]:
    """A Response as API Gateway (payload 2.0) takes it, outside the resolver."""
    return {
        "statusCode": int(response.status_code),
        "headers": {"Content-Type": JSON, **response.headers},
        "body": json.dumps(response.body),
        "isBase64Encoded": False,
    }

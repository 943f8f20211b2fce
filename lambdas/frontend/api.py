"""The frontend's API (Bubble's API Connector): investors, their portfolio as the validated ledger
shows it, the catalogue, purchases with links to the explorer, and the wallet request after KYC.

API Gateway (HTTP API, payload 2.0) sends the routes of cdk/api.py here. Every request but the
OpenAPI document must carry the frontend's bearer token, checked before anything else
(auth.py). Every refusal is {"error", "reason"} (faults.py); the answers' models are in
models.py, the OpenAPI document in openapi.py.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from domain import portfolio
from domain.investor import Investor as InvestorOnRecord
from domain.investor import InvestorStanding, reason_shown_to_investor
from domain.portfolio import WalletRequestOutcome
from domain.purchase import PurchaseStatus
from domain.purchase import reason_shown_to_investor as purchase_reason_shown
from lambdas import platform_events
from lambdas.config import settings
from lambdas.frontend import auth, faults, lookups
from lambdas.frontend import books as books_routes
from lambdas.frontend import withdrawals as withdrawal_routes
from lambdas.frontend.models import (
    JSON,
    REFUSALS,
    SECURED,
    UNKNOWN_INVESTOR,
    CashFlowLine,
    Catalogue,
    CatalogueInstrument,
    HoldingCashFlows,
    InstrumentHolding,
    Investor,
    InvestorCashFlows,
    InvestorId,
    InvestorPortfolio,
    PortfolioTotals,
    Purchase,
    PurchaseId,
    Refusal,
    WalletRequest,
    answers,
    problem,
)
from lambdas.frontend.openapi import openapi_document as _openapi_of
from lambdas.records import instruments, purchases
from lambdas.records.instruments import ListedInstrument
from lambdas.records.wallets import Wallet
from lambdas.servicing.holdings import cash_flows_of

if TYPE_CHECKING:
    pass

logger = Logger(service="frontend-api")
OPENAPI_PATH = auth.OPENAPI_PATH

app = APIGatewayHttpResolver(enable_validation=True)

# --- the routes (exactly those of cdk/api.py) ----------------------------------------------

ROUTES: dict[str, tuple[str, ...]] = {
    OPENAPI_PATH: ("GET",),
    "/instruments": ("GET",),
    "/investors/<investor_id>": ("GET",),
    "/investors/<investor_id>/portfolio": ("GET",),
    "/investors/<investor_id>/cash-flows": ("GET",),
    "/investors/<investor_id>/wallet": ("POST",),
    "/investors/<investor_id>/withdrawals": ("GET", "POST"),
    "/investors/<investor_id>/income-payout": ("PUT",),
    "/investors/<investor_id>/holdings/<instrument_id>/register-extract": ("GET",),
    "/investors/<investor_id>/statements/<period>": ("GET",),
    "/investors/<investor_id>/statements/<period>/documents": ("GET", "POST"),
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
    return _openapi()


@app.get(
    "/investors/<investor_id>",
    operation_id="getInvestor",
    summary="An investor's standing and wallet",
    tags=["investors"],
    security=SECURED,
    responses=answers({200: "The investor"}, UNKNOWN_INVESTOR),
)
def get_investor(investor_id: InvestorId) -> Investor:
    record, wallet = lookups.investor_and_wallet(investor_id)
    return Investor(
        investor_id=record.investor_id,
        status=record.status,
        wallet_address=wallet.address if wallet else None,
        reason=reason_shown_to_investor(record.reason, record.screened_by_aml),
    )


@app.get(
    "/investors/<investor_id>/portfolio",
    operation_id="getPortfolio",
    summary="Stablecoin and instrument units on the validated ledger, valued",
    tags=["investors"],
    security=SECURED,
    responses=answers(
        {200: "The portfolio"},
        UNKNOWN_INVESTOR,
        {409: problem("no_wallet", "The investor has no wallet yet")},
    ),
)
def get_portfolio(investor_id: InvestorId) -> InvestorPortfolio:
    record, wallet = lookups.investor_and_wallet(investor_id)
    if wallet is None:
        raise Refusal(
            HTTPStatus.CONFLICT,
            "no_wallet",
            f"investor {investor_id} has no wallet yet (status {record.status})",
        )
    # Only this route reads the ledger: xrpl-py and the key's address load here, not at cold start.
    from lambdas.custody.platform_signer import platform_key

    issuer = platform_key("issuer").address
    ledger_index, lines, tokens = lookups.ledger().holdings(wallet.address, issuer)
    valued = portfolio.value_portfolio(
        portfolio.stablecoin_balance(lines, issuer),
        [_priced(instrument) for instrument in instruments.catalogue()],
        portfolio.units_by_issuance(tokens),
    )
    return _portfolio_answer(record, wallet, ledger_index, issuer, valued)


def _portfolio_answer(
    record: InvestorOnRecord,
    wallet: Wallet,
    ledger_index: int,
    issuer: str,
    valued: portfolio.Portfolio,
) -> InvestorPortfolio:
    text = portfolio.amount_text
    return InvestorPortfolio(
        investor_id=record.investor_id,
        status=record.status,
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
    "/investors/<investor_id>/cash-flows",
    operation_id="getCashFlows",
    summary="Each holding's coupons and principal: paid or held, and upcoming",
    tags=["investors"],
    security=SECURED,
    responses=answers({200: "The cash flows"}, UNKNOWN_INVESTOR),
)
def get_cash_flows(investor_id: InvestorId) -> InvestorCashFlows:
    lookups.investor_and_wallet(investor_id)
    today = datetime.now(UTC).date()
    text = portfolio.amount_text
    holdings = [
        HoldingCashFlows(
            instrument_id=h.instrument.instrument_id,
            name=h.instrument.name,
            units=h.units,
            currency=h.instrument.currency,
            flows=[
                CashFlowLine(
                    payment_date=f.payment_date.isoformat(),
                    record_date=f.record_date.isoformat(),
                    coupon=text(f.coupon),
                    principal=text(f.principal),
                    amount=text(f.amount),
                    status=f.status,
                    tx_hash=f.tx_hash,
                )
                for f in h.flows
            ],
        )
        for h in cash_flows_of(investor_id, today)
    ]
    return InvestorCashFlows(investor_id=investor_id, as_of=today.isoformat(), holdings=holdings)


@app.get(
    "/instruments",
    operation_id="listInstruments",
    summary="The catalogue, with units available and sold",
    tags=["instruments"],
    security=SECURED,
    responses=answers({200: "The catalogue"}),
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
            for i in instruments.catalogue()
        ]
    )


@app.get(
    "/purchases/<purchase_id>",
    operation_id="getPurchase",
    summary="A purchase, its ledger transactions and their explorer links",
    tags=["purchases"],
    security=SECURED,
    responses=answers(
        {200: "The purchase"}, {404: problem("unknown_purchase", "No such purchase")}
    ),
)
def get_purchase(purchase_id: PurchaseId) -> Purchase:
    record = purchases.find(purchase_id)
    if record is None:
        raise Refusal(HTTPStatus.NOT_FOUND, "unknown_purchase", f"no purchase {purchase_id}")
    summary = record.summary()
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
        **answers({200: "Already ACTIVE: the wallet"}, UNKNOWN_INVESTOR),
        202: {"description": "Wallet requested", "content": {JSON: {"model": WalletRequest}}},
        409: problem("wallet_not_allowed", "KYC not approved, rejected, or blocked"),
    },
)
def request_wallet(investor_id: InvestorId) -> Response[WalletRequest]:
    record, wallet = lookups.investor_and_wallet(investor_id)
    standing = InvestorStanding(investor_id, record.status, wallet.address if wallet else None)
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


def _priced(record: ListedInstrument) -> portfolio.PricedInstrument:
    return portfolio.PricedInstrument(
        instrument_id=record.instrument_id,
        name=record.name,
        issuance_id=record.issuance_id,
        unit_price=portfolio.decimal_from_text(record.unit_price, f"{record.instrument_id} price"),
        currency=record.currency,
    )


@functools.cache
def _openapi() -> dict[str, Any]:
    return _openapi_of(app)


app.include_router(withdrawal_routes.router)
app.include_router(books_routes.router)
faults.register(app, ROUTES)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refused = auth.unauthenticated(event)
    if refused is not None:
        return refused
    return app.resolve(event, context)

"""The frontend API's books routes: an investor's own extract of an instrument's holder
register (eWpG), as the validated ledger shows it, with every change in order; and their
statement for a month, a quarter or a year."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from domain import portfolio
from domain.statement import Period, PeriodRefused
from lambdas.aws_clients import step_functions, transient_faults
from lambdas.config import settings
from lambdas.frontend import lookups
from lambdas.frontend.models import (
    JSON,
    NO_DOCUMENTS,
    NO_STATEMENT,
    PERIOD_NOT_ENDED,
    SECURED,
    UNKNOWN_INSTRUMENT,
    InstrumentId,
    InvestorId,
    InvestorStatement,
    Refusal,
    RegisterChange,
    RegisterExtract,
    RegisterHolding,
    StatementDocuments,
    StatementPeriod,
    StatementRequested,
    answers,
)

router = APIGatewayHttpRouter()


@router.get(
    "/investors/<investor_id>/holdings/<instrument_id>/register-extract",
    operation_id="getRegisterExtract",
    summary="The investor's entry in an instrument's holder register, and its changes",
    tags=["investors"],
    security=SECURED,
    responses=answers({200: "The extract, at the latest validated ledger"}, UNKNOWN_INSTRUMENT),
)
def get_register_extract(investor_id: InvestorId, instrument_id: InstrumentId) -> RegisterExtract:
    # xrpl-py (~200 ms) loads with this route, not at cold start
    from lambdas.books import register, sides
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.servicing.holders import UnknownInstrument

    _, wallet = lookups.investor_and_wallet(investor_id)
    if wallet is None:
        raise Refusal(HTTPStatus.NOT_FOUND, "no_wallet", f"{investor_id} has no wallet yet")
    ledger = sides.ledger_quorum()
    holder = (investor_id, wallet.address)
    try:
        extract = register.register_at(
            instrument_id, ledger, platform_accounts(), ledger.validated_ledger_index(), holder
        ).shown_to_holder()
    except UnknownInstrument:
        raise Refusal(
            HTTPStatus.NOT_FOUND, "unknown_instrument", f"no instrument {instrument_id}"
        ) from None
    entry = next(iter(extract.entries), None)
    text = portfolio.amount_text
    return RegisterExtract(
        investor_id=investor_id,
        instrument_id=extract.instrument_id,
        issuance_id=extract.issuance_id,
        ledger_index=extract.ledger_index,
        as_of=extract.as_of.isoformat() if extract.as_of else None,
        nominal_per_unit=text(extract.nominal_per_unit),
        holding=RegisterHolding(
            units=entry.units if entry else 0,
            outstanding_nominal=text(entry.outstanding_nominal if entry else Decimal(0)),
            restrictions=list(entry.restrictions) if entry else [],
            held_in_suspense=text(entry.held_in_suspense if entry else Decimal(0)),
        ),
        changes=[
            RegisterChange(
                ledger_index=c.ledger_index,
                closed_at=c.closed_at.isoformat() if c.closed_at else None,
                kind=c.kind,
                units=c.units,
                cause=c.cause.what if c.cause else "not in the records",
                tx_hash=c.tx_hash,
            )
            for c in extract.changes
        ],
    )


@router.get(
    "/investors/<investor_id>/statements/<period>",
    operation_id="getStatement",
    summary="The investor's statement for a month (2026-11), a quarter (2026-Q4) or a year",
    tags=["investors"],
    security=SECURED,
    responses=answers({200: "The statement (a period not over yet: to date)"}, NO_STATEMENT),
)
def get_statement(investor_id: InvestorId, period: StatementPeriod) -> InvestorStatement:
    from lambdas.books import sides, statements
    from lambdas.custody.platform_signer import platform_accounts

    lookups.investor_and_wallet(investor_id)
    try:
        made = statements.statement_of(
            investor_id, _period(period), sides.ledger_quorum(), platform_accounts()
        )
    except statements.NoWallet as missing:
        raise Refusal(HTTPStatus.NOT_FOUND, "no_wallet", str(missing)) from None
    document = made.as_json()
    document["starts"], document["ends"] = document.pop("from"), document.pop("to")
    return InvestorStatement.model_validate(document)


DOCUMENTS = "/investors/<investor_id>/statements/<period>/documents"


@router.get(
    DOCUMENTS,
    operation_id="getStatementDocuments",
    summary="Links to the investor's statement for an ended period, as CSV and PDF",
    tags=["investors"],
    security=SECURED,
    responses=answers({200: "The links, for a few minutes"}, NO_DOCUMENTS),
)
def get_statement_documents(investor_id: InvestorId, period: StatementPeriod) -> StatementDocuments:
    lookups.investor_and_wallet(investor_id)
    found = _kept(investor_id, _period(period))
    if found is None:
        raise Refusal(
            HTTPStatus.NOT_FOUND, "statement_not_kept",
            f"no documents for {period} yet: made on the 1st after it ends, or POST to ask",
        )  # fmt: skip
    return found


@router.post(
    DOCUMENTS,
    operation_id="requestStatementDocuments",
    summary="Have the investor's statement for an ended period made as CSV and PDF",
    description="200: kept already, the links. 202: being made; GET the same path shortly.",
    tags=["investors"],
    security=SECURED,
    responses={
        **answers({200: "Kept already: the links"}, NO_STATEMENT, PERIOD_NOT_ENDED),
        202: {"description": "Being made", "content": {JSON: {"model": StatementRequested}}},
    },
)
def request_statement_documents(
    investor_id: InvestorId, period: StatementPeriod
) -> Response[StatementDocuments | StatementRequested]:
    _, wallet = lookups.investor_and_wallet(investor_id)
    asked, now = _period(period), datetime.now(UTC)
    if wallet is None:
        raise Refusal(HTTPStatus.NOT_FOUND, "no_wallet", f"{investor_id} has no wallet yet")
    if asked.ends_at > now:
        raise Refusal(
            HTTPStatus.CONFLICT, "period_not_ended",
            f"{period} has not ended: GET /investors/{investor_id}/statements/{period} to date",
        )  # fmt: skip
    found = _kept(investor_id, asked)
    if found is not None:
        return Response(HTTPStatus.OK, JSON, found)
    # One run per investor, period and hour: asking again meanwhile starts nothing more.
    name = f"statement-{period}-{investor_id}-{now:%Y%m%d%H}"[:80]
    request = {"period": period, "investor_id": investor_id}
    with transient_faults("Step Functions StartExecution"):
        try:
            step_functions().start_execution(
                stateMachineArn=settings().statements_workflow, name=name, input=json.dumps(request)
            )
        except step_functions().exceptions.ExecutionAlreadyExists:
            pass
    return Response(
        HTTPStatus.ACCEPTED, JSON,
        StatementRequested(investor_id=investor_id, period=period, execution=name),
    )  # fmt: skip


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except PeriodRefused as refused:
        raise Refusal(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_period", str(refused)) from None


def _kept(investor_id: str, period: Period) -> StatementDocuments | None:
    from lambdas.books import documents

    found = documents.links(investor_id, period, datetime.now(UTC))
    if found is None:
        return None
    return StatementDocuments(
        investor_id=investor_id, period=period.name, csv=found.csv, pdf=found.pdf,
        expires_at=found.expires_at.isoformat(),
    )  # fmt: skip

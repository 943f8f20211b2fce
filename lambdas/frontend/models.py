"""What the frontend API answers, as its OpenAPI document describes it: the response models,
the refusal every 4xx carries, and the answers each route declares."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field

from domain import portfolio
from domain.holdings import FlowStatus
from domain.investor import InvestorStatus
from domain.portfolio import WalletRequestOutcome
from domain.purchase import PurchaseStatus
from domain.register import ChangeKind as RegisterChangeKind
from domain.register import Restriction as RegisterRestriction
from domain.statement import LineKind as StatementLineKind
from domain.withdrawal import IncomePayout

JSON = content_types.APPLICATION_JSON
BEARER = "bearer"
SECURED: list[dict[str, list[str]]] = [{BEARER: []}]

Amount = Annotated[str, Field(pattern=portfolio.AMOUNT_PATTERN, examples=["200.00"])]
InvestorId = Annotated[
    str,
    Path(pattern=portfolio.IDENTIFIER_PATTERN, description="The investor's id at the platform"),
]
PurchaseId = Annotated[
    str,
    Path(pattern=portfolio.IDENTIFIER_PATTERN, description="The purchase's id (purchase-...)"),
]


InstrumentId = Annotated[
    str, Path(pattern=portfolio.IDENTIFIER_PATTERN, description="The instrument's id")
]


StatementPeriod = Annotated[
    str,
    Path(
        pattern=portfolio.IDENTIFIER_PATTERN,
        description="A month (2026-11), a quarter (2026-Q4) or a year (2026)",
    ),
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


class CashFlowLine(BaseModel):
    payment_date: str = Field(examples=["2027-06-15"])
    record_date: str = Field(description="Holders on this day's close are paid")
    coupon: Amount
    principal: Amount
    amount: Amount
    status: FlowStatus = Field(description="PAID, HELD (in suspense), DUE, or SCHEDULED")
    tx_hash: str | None = Field(default=None, description="The payment on the ledger, once paid")


class HoldingCashFlows(BaseModel):
    instrument_id: str
    name: str
    units: int = Field(ge=0, description="Held now; none once repaid at maturity")
    currency: str
    flows: list[CashFlowLine]


class InvestorCashFlows(BaseModel):
    """Past flows as paid (or held), upcoming ones as scheduled for the units held now."""

    investor_id: str
    as_of: str = Field(description="Flows from this day on are upcoming")
    holdings: list[HoldingCashFlows]


class RegisterHolding(BaseModel):
    units: int = Field(ge=0, description="Units the holder's wallet holds on that ledger")
    outstanding_nominal: Amount = Field(description="units x the nominal each still owes")
    restrictions: list[RegisterRestriction] = Field(
        description="FROZEN (the stablecoin line), LOCKED (the units), HELD_IN_SUSPENSE"
    )
    held_in_suspense: Amount = Field(description="Payments kept until the holder may receive")


class RegisterChange(BaseModel):
    ledger_index: int
    closed_at: str | None = Field(description="When the ledger holding the change closed")
    kind: RegisterChangeKind
    units: int = Field(description="+ issued, - taken back or redeemed, 0 a lock")
    cause: str = Field(description="What caused it: a purchase, a distribution, a restriction")
    tx_hash: str = Field(description="The transaction on the ledger")


class RegisterExtract(BaseModel):
    """The holder's entry in the instrument's register (eWpG), read from one validated ledger,
    and every change to it in order."""

    investor_id: str
    instrument_id: str
    issuance_id: str
    ledger_index: int
    as_of: str | None = Field(description="The ledger's close time")
    nominal_per_unit: Amount = Field(description="What a unit still owes on that day")
    holding: RegisterHolding
    changes: list[RegisterChange]


class StatementPosition(BaseModel):
    ledger_index: int = Field(description="The validated ledger read (0: none closed yet)")
    at: str | None = Field(description="Its close time")
    stablecoin: Amount
    units: dict[str, int] = Field(description="Units held, by instrument")


class StatementLine(BaseModel):
    on: str | None = Field(
        description="When the ledger holding it closed (a held payment: its date)"
    )
    kind: StatementLineKind
    reference: str = Field(description="The purchase, distribution or withdrawal")
    instrument_id: str | None
    units: int = Field(description="The change in units held")
    amount: Amount = Field(description="The money involved")
    stablecoin_change: Amount = Field(description="What it changed in the wallet")
    tx_hash: str | None
    ledger_index: int | None


class StatementDocuments(BaseModel):
    """Links to the statement's documents, kept for the investor; each works until
    `expires_at` (ask again for fresh ones)."""

    investor_id: str
    period: str
    csv: str = Field(description="The statement as CSV: positions, every line, totals")
    pdf: str = Field(description="The statement as a PDF document")
    expires_at: str


class StatementRequested(BaseModel):
    """The documents are being made; GET the same path in a minute."""

    investor_id: str
    period: str
    execution: str = Field(description="The Statements workflow's execution making them")


class InvestorStatement(BaseModel):
    """Holdings at the period's bounds as the ledger shows them, every line between, and
    totals; `ties_to_the_ledger` says whether the lines carry the opening to the closing."""

    investor_id: str
    period: str = Field(examples=["2026-11", "2026-Q4", "2026"])
    starts: str = Field(description="The period's first day")
    ends: str = Field(description="The first day after it")
    opening: StatementPosition
    closing: StatementPosition
    lines: list[StatementLine]
    totals: dict[str, Amount]
    ties_to_the_ledger: bool
    untied: list[str] = Field(description="Where the lines do not tie, if anywhere")


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


class WithdrawalAsked(BaseModel):
    """What the investor asks to withdraw: the account is the one verified at KYC, never one
    given here (extra fields are refused)."""

    model_config = ConfigDict(extra="forbid")

    amount: str = Field(
        description='EUR as a decimal string with at most two decimals, e.g. "250.00"',
        examples=["250.00"],
    )


class Withdrawal(BaseModel):
    withdrawal_id: str
    investor_id: str
    amount: str
    currency: str
    status: str = Field(description="REQUESTED, REDEEMED, PAID_OUT, RETURNED or REFUSED")
    reason: str | None = None
    requested_at: str
    payout_account: str | None = Field(default=None, description="The IBAN, masked")


class InvestorWithdrawals(BaseModel):
    investor_id: str
    income_payout: IncomePayout = Field(
        description="WALLET: coupons and principal stay in the wallet; BANK: paid out to the "
        "account on record as soon as they are paid"
    )
    withdrawals: list[Withdrawal]


class IncomePayoutChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: IncomePayout


class IncomePayoutChosen(BaseModel):
    investor_id: str
    income_payout: IncomePayout


class Refusal(Exception):
    """A request the API answers with a 4xx and its reason."""

    def __init__(self, status: HTTPStatus, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


def problem(code: str, description: str) -> OpenAPIResponse:
    """A refusal as the OpenAPI document describes it: its code, when, and the Problem body."""
    return {"description": f"{code}: {description}", "content": {JSON: {"model": Problem}}}


REFUSALS: dict[int, OpenAPIResponse] = {
    401: problem("unauthorized", "No bearer token, or not the frontend's"),
    415: problem("unsupported_media_type", "A request body that is not JSON"),
    422: problem("invalid_request", "A malformed id or request"),
    500: problem("internal", "A defect on the platform's side (logged)"),
    503: {
        **problem("unavailable", "DynamoDB, the ledger or the bus did not answer: retry"),
        "headers": {"Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}},
    },
}
UNKNOWN_INVESTOR = {404: problem("unknown_investor", "No such investor")}
UNKNOWN_INSTRUMENT = {404: problem("unknown_instrument", "No such investor or instrument")}
NO_STATEMENT = {404: problem("no_wallet", "No such investor, or one who never had a wallet")}
NO_DOCUMENTS = {
    404: problem(
        "statement_not_kept",
        "No documents for this period yet: they are made on the 1st after it ends (01:00 UTC), "
        "or when asked with POST",
    )
}
PERIOD_NOT_ENDED = {409: problem("period_not_ended", "Documents are kept for ended periods only")}


def answers(
    ok: Mapping[int, str], *more: Mapping[int, OpenAPIResponse]
) -> dict[int, OpenAPIResponse]:
    declared: dict[int, OpenAPIResponse] = {code: {"description": t} for code, t in ok.items()}
    for extra in (*more, REFUSALS):
        declared.update(extra)
    return declared

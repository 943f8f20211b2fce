"""domain/portfolio.py: valuing a portfolio, wallet requests, explorer links, refusals. Pure."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import portfolio
from domain.investor import InvestorStanding, InvestorStatus
from domain.portfolio import (
    PortfolioError,
    PricedInstrument,
    WalletRequestOutcome,
    WalletRequestRefused,
)

ISSUER = "rIssuer111111111111111111111111111"
SENIOR = PricedInstrument("SME-2027-A", "Senior A", "00000006AB", Decimal("100.00"), "EUR")
MEZZANINE = PricedInstrument("SME-2028-B", "Mezzanine B", "00000007CD", Decimal("250.00"), "EUR")


# --- valuing -----------------------------------------------------------------------------------


def test_a_portfolio_is_every_instrument_valued_at_its_unit_price() -> None:
    valued = portfolio.value_portfolio(
        Decimal("12.34"), [MEZZANINE, SENIOR], {"00000006AB": 3, "FFFF": 9}
    )

    assert [(h.instrument.instrument_id, h.units, h.value) for h in valued.holdings] == [
        ("SME-2027-A", 3, Decimal("300.00")),
        ("SME-2028-B", 0, Decimal("0.00")),
    ]
    assert valued.instruments_value == Decimal("300.00")
    assert valued.total_value == Decimal("312.34")
    assert valued.currency == "EUR"


def test_issuance_ids_match_whatever_their_case() -> None:
    units = portfolio.units_by_issuance([{"MPTokenIssuanceID": "00000006ab", "MPTAmount": "2"}])

    valued = portfolio.value_portfolio(Decimal(0), [SENIOR], units)

    assert valued.holdings[0].units == 2


def test_an_instrument_priced_in_another_currency_is_not_added_up() -> None:
    dollars = PricedInstrument("US-1", "Dollar note", "01", Decimal("1"), "USD")

    with pytest.raises(PortfolioError, match="USD"):
        portfolio.value_portfolio(Decimal(0), [dollars], {})


def test_the_stablecoin_balance_is_the_line_to_the_issuer_in_eur() -> None:
    lines = [
        {"account": "rSomeoneElse", "currency": "EUR", "balance": "99"},
        {"account": ISSUER, "currency": "USD", "balance": "98"},
        {"account": ISSUER, "currency": "EUR", "balance": "1e-2"},
    ]

    assert portfolio.stablecoin_balance(lines, ISSUER) == Decimal("0.01")
    assert portfolio.stablecoin_balance([], ISSUER) == Decimal(0)


@pytest.mark.parametrize("balance", ["abc", "NaN", "Infinity", None])
def test_a_balance_that_is_not_a_finite_number_is_a_defect(balance: object) -> None:
    with pytest.raises(PortfolioError):
        portfolio.stablecoin_balance(
            [{"account": ISSUER, "currency": "EUR", "balance": balance}], ISSUER
        )


def test_units_come_from_mptokens_and_a_missing_amount_is_zero() -> None:
    tokens = [
        {"MPTokenIssuanceID": "AA", "MPTAmount": "7"},
        {"MPTokenIssuanceID": "BB"},  # the ledger leaves out a zero MPTAmount
    ]

    assert portfolio.units_by_issuance(tokens) == {"AA": 7, "BB": 0}


@pytest.mark.parametrize("amount", ["-1", "1.5", "", "0x10"])
def test_units_that_are_not_whole_are_a_defect(amount: str) -> None:
    with pytest.raises(PortfolioError):
        portfolio.units_by_issuance([{"MPTokenIssuanceID": "AA", "MPTAmount": amount}])


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("200", "200.00"),
        ("1E+3", "1000.00"),
        ("0.5", "0.50"),
        ("0.001", "0.001"),
        ("1e-5", "0.00001"),
        ("-0", "0.00"),
        ("-12.3", "-12.30"),
        ("9999999999999999e80", "9999999999999999" + "0" * 80 + ".00"),
    ],
)
def test_amounts_are_plain_decimal_text(amount: str, text: str) -> None:
    assert portfolio.amount_text(Decimal(amount)) == text


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**30), max_value=10**30))
def test_amount_text_never_loses_a_digit_and_matches_the_published_pattern(
    amount: Decimal,
) -> None:
    text = portfolio.amount_text(amount)

    assert re.fullmatch(portfolio.AMOUNT_PATTERN, text)
    assert Decimal(text) == amount


# --- wallet requests ---------------------------------------------------------------------------


def standing(status: InvestorStatus, wallet: str | None = None) -> InvestorStanding:
    return InvestorStanding("inv-1", status, wallet)


def test_an_approved_investor_may_request_a_wallet() -> None:
    outcome = portfolio.wallet_request_outcome(standing(InvestorStatus.KYC_APPROVED))

    assert outcome == WalletRequestOutcome.WALLET_REQUESTED


def test_an_approved_investor_whose_wallet_is_being_made_may_ask_again() -> None:
    outcome = portfolio.wallet_request_outcome(standing(InvestorStatus.KYC_APPROVED, "rW"))

    assert outcome == WalletRequestOutcome.WALLET_REQUESTED


def test_an_active_investor_with_a_wallet_has_nothing_to_request() -> None:
    outcome = portfolio.wallet_request_outcome(standing(InvestorStatus.ACTIVE, "rW"))

    assert outcome == WalletRequestOutcome.ACTIVE


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (InvestorStatus.PENDING, "KYC is not approved yet"),
        (InvestorStatus.REJECTED, "KYC was rejected"),
        (InvestorStatus.BLOCKED, "blocked by AML"),
    ],
)
def test_no_wallet_without_approved_kyc_or_while_blocked(status: InvestorStatus, why: str) -> None:
    with pytest.raises(WalletRequestRefused, match=why):
        portfolio.wallet_request_outcome(standing(status, "rW"))


def test_the_wallet_request_is_one_case_per_investor() -> None:
    assert portfolio.wallet_request_case("inv-7") == "frontend-inv-7"
    assert portfolio.wallet_request_case("inv-7") == portfolio.wallet_request_case("inv-7")


@given(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}\Z"))
def test_the_wallet_request_case_is_always_a_valid_id_even_for_long_investor_ids(
    investor_id: str,
) -> None:
    from domain.purchase import identifier

    case = portfolio.wallet_request_case(investor_id)

    assert identifier("case_id", case) == case  # what onboarding accepts
    assert case.startswith("frontend-")
    other = portfolio.wallet_request_case(investor_id + "x") if len(investor_id) < 64 else None
    assert other != case


def test_the_published_id_pattern_is_the_one_the_platform_checks() -> None:
    from domain.purchase import _ID

    assert _ID.pattern == portfolio.IDENTIFIER_PATTERN
    assert portfolio.is_identifier("inv-1:a.b_c")
    assert not portfolio.is_identifier("inv-1\n")  # Python's `$` would take this one
    assert not portfolio.is_identifier("-inv")
    assert not portfolio.is_identifier("x" * 65)


# --- explorer links ----------------------------------------------------------------------------


def test_a_transaction_links_to_the_explorer() -> None:
    link = portfolio.explorer_link("https://testnet.xrpl.org/", "AB" * 32)

    assert link == f"https://testnet.xrpl.org/transactions/{'AB' * 32}"


def test_only_transactions_with_a_hash_get_a_link() -> None:
    linked = portfolio.with_explorer_links(
        {
            "mint": {"hash": "H1", "ledger_index": 5, "result": "tesSUCCESS"},
            "deliver": {"hash": None, "ledger_index": None, "result": None},
        },
        "http://127.0.0.1:5005/explorer",
    )

    assert linked["mint"]["explorer_url"] == "http://127.0.0.1:5005/explorer/transactions/H1"
    assert linked["mint"]["ledger_index"] == 5
    assert linked["deliver"]["explorer_url"] is None


# --- refusals ----------------------------------------------------------------------------------


def test_a_refusal_is_a_code_and_a_reason() -> None:
    assert portfolio.problem("unknown_investor", "no investor inv-9") == {
        "error": "unknown_investor",
        "reason": "no investor inv-9",
    }


def test_a_malformed_id_is_explained_in_words() -> None:
    reason = portfolio.validation_reason(
        [{"type": "string_pattern_mismatch", "loc": ("path", "investor_id"), "input": "a b"}]
    )

    assert reason == (
        "investor_id must be 1-64 letters, digits or _.:-, starting with a letter or digit "
        "(got 'a b')"
    )


def test_other_validation_errors_keep_their_message_and_a_long_input_is_cut() -> None:
    reason = portfolio.validation_reason(
        [
            {"type": "missing", "loc": ("body", "units"), "msg": "Field required"},
            {"type": "string_pattern_mismatch", "loc": ("path", "purchase_id"), "input": "%" * 99},
        ]
    )

    first, second = reason.split("; ")
    assert first == "body units: Field required"
    assert second.startswith("purchase_id must be") and second.endswith("...)")
    assert portfolio.validation_reason([]) == "the request is not valid"

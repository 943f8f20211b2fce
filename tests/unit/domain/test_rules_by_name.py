"""Rules the platform tiers exercised only through the deployed platform, checked here alone:
result codes, purchase handling, compensation, ledger keys, what is kept and shown."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import business_keys
from domain.errors import PaymentRejected
from domain.investor import InvestorStanding, InvestorStatus, notification_reason
from domain.ledger_results import Final, Preliminary, classify_preliminary, classify_validated
from domain.portfolio import PortfolioError, decimal_from_text
from domain.purchase import (
    MAX_PURCHASE_AMOUNT,
    Handling,
    InstrumentOffer,
    Payment,
    PurchaseStatus,
    check_purchase,
    handling_for,
    over_purchase_maximum,
    purchase_id_for,
    purchase_id_of,
    units_unavailable,
)
from domain.settlement import (
    LedgerNotValidating,
    Step,
    check_still_validating,
    reversal_needed,
)
from domain.webhooks import KEPT_PREFIX_BYTES, kept_request


@pytest.mark.parametrize(
    ("engine_result", "preliminary"),
    [
        ("tesSUCCESS", Preliminary.QUEUED),
        ("tecPATH_DRY", Preliminary.QUEUED),  # applied, failed: the ledger decides
        ("tefPAST_SEQ", Preliminary.QUEUED),  # maybe in a ledger already: look it up
        ("tefMAX_LEDGER", Preliminary.QUEUED),
        ("terPRE_SEQ", Preliminary.RETRY),
        ("telINSUF_FEE_P", Preliminary.RETRY),
        ("temMALFORMED", Preliminary.REJECTED),
        ("tefBAD_AUTH", Preliminary.REJECTED),
    ],
)
def test_a_preliminary_result_says_only_whether_waiting_can_help(
    engine_result: str, preliminary: Preliminary
) -> None:
    assert classify_preliminary(engine_result) is preliminary


def test_only_a_validated_tes_success_succeeds() -> None:
    assert classify_validated("tesSUCCESS") is Final.SUCCEEDED
    for result in ("tecPATH_DRY", "tecNO_AUTH", "tefPAST_SEQ", ""):
        assert classify_validated(result) is Final.FAILED


def test_ledger_decimals_may_use_an_exponent_but_must_be_finite() -> None:
    assert decimal_from_text("1e-5", "balance") == Decimal("0.00001")
    assert decimal_from_text(12, "units") == Decimal(12)
    for bad in ("NaN", "Infinity", "lots", None):
        with pytest.raises(PortfolioError):
            decimal_from_text(bad, "balance")


OFFER = InstrumentOffer("SME-2027-A", True, Decimal("100.00"), "EUR", 50)
ACTIVE = InvestorStanding("inv-1", InvestorStatus.ACTIVE, "rWallet")


def _payment(**changes: object) -> Payment:
    fields = {"payment_id": "pay-1", "investor_id": "inv-1", "instrument_id": "SME-2027-A",
              "units": 2, "amount": "200.00", "currency": "EUR", **changes}  # fmt: skip
    return Payment.from_event(fields)


@pytest.mark.parametrize(
    ("investor", "offer", "payment", "reason"),
    [
        (None, OFFER, _payment(), "not registered"),
        (InvestorStanding("inv-1", InvestorStatus.BLOCKED, "rW"), OFFER, _payment(), "BLOCKED"),
        (InvestorStanding("inv-1", InvestorStatus.ACTIVE, None), OFFER, _payment(), "no wallet"),
        (ACTIVE, None, _payment(), "not in the catalogue"),
        (ACTIVE, InstrumentOffer("SME-2027-A", False, Decimal(100), "EUR", 9), _payment(),
         "not open for sale"),
        (ACTIVE, OFFER, _payment(amount="199.99"), "which cost 200.00 EUR"),
    ],
)  # fmt: skip
def test_a_payment_buys_only_what_it_paid_for_as_an_active_investor(
    investor: InvestorStanding | None, offer: InstrumentOffer | None, payment: Payment, reason: str
) -> None:
    check_purchase(_payment(), ACTIVE, OFFER)
    with pytest.raises(PaymentRejected, match=reason):
        check_purchase(payment, investor, offer)


def test_units_unavailable_names_what_was_asked_and_what_is_left() -> None:
    assert units_unavailable(_payment(units=60, amount="6000.00"), 7) == (
        "60 units of SME-2027-A asked, 7 available"
    )


def test_one_execution_settles_a_purchase_and_a_redrive_takes_over() -> None:
    open_status = PurchaseStatus.DEPOSIT_RECORDED
    assert handling_for(open_status, "exec-1", "exec-1", False, False) is Handling.SETTLE
    assert handling_for(open_status, "exec-1", "exec-2", False, False) is Handling.DUPLICATE
    assert handling_for(open_status, "exec-1", "exec-2", True, False) is Handling.SETTLE
    assert handling_for(open_status, "exec-1", "exec-2", True, True) is Handling.UNDO
    for final in (PurchaseStatus.DELIVERED, PurchaseStatus.REFUNDED):
        assert handling_for(final, "exec-1", "exec-1", True, False) is Handling.DUPLICATE


def test_a_compensation_finds_its_purchase_even_before_one_existed() -> None:
    assert purchase_id_of({"purchase_id": "purchase-x"}) == "purchase-x"
    assert purchase_id_of({"payment": {"payment_id": "pay-9"}}) == purchase_id_for("pay-9")
    assert purchase_id_of({"event_id": "e-1", "payment": ["junk"]}) == purchase_id_for("event-e-1")


@given(st.decimals(Decimal("0.01"), Decimal("1e7"), places=2))
def test_the_per_purchase_maximum_is_inclusive(amount: Decimal) -> None:
    reason = over_purchase_maximum(amount, "EUR")
    assert (reason is None) == (amount <= MAX_PURCHASE_AMOUNT)
    if reason:
        assert str(MAX_PURCHASE_AMOUNT) in reason and str(amount) in reason


def test_a_step_stops_waiting_once_no_healthy_ledger_would_still_be_deciding() -> None:
    check_still_validating("mint", 0)
    with pytest.raises(LedgerNotValidating, match="mint: not decided after 150 checks"):
        check_still_validating("mint", 150)


@pytest.mark.parametrize(
    ("step", "succeeded", "needed"),
    [
        (Step.TAKE_BACK, {Step.DELIVER: True}, True),
        (Step.TAKE_BACK, {Step.DELIVER: False}, False),
        (Step.REDEEM, {Step.TRANSFER: True}, True),
        (Step.CLAW_BACK, {Step.MINT: True, Step.TRANSFER: False}, True),
        (Step.CLAW_BACK, {Step.MINT: True, Step.TRANSFER: True}, False),  # redeemed instead
        (Step.CLAW_BACK, {Step.MINT: False, Step.TRANSFER: False}, False),
    ],
)
def test_a_compensation_undoes_only_what_validated(
    step: Step, succeeded: dict[Step, bool], needed: bool
) -> None:
    assert reversal_needed(step, succeeded) is needed


def test_freezes_are_keyed_per_decision_and_found_per_case() -> None:
    at = datetime(2026, 12, 4, 10, 0, 0, 123456, tzinfo=UTC)
    same_instant = at.astimezone(timezone(timedelta(hours=1)))
    first = business_keys.aml_decision("inv-1", "case-7", at)
    same = business_keys.aml_decision("inv-1", "case-7", same_instant)
    assert first == same, "one instant, one key"
    assert first != business_keys.aml_decision("inv-1", "case-7", at + timedelta(minutes=5))
    assert first.startswith(business_keys.aml_case("inv-1", "case-7"))
    other_case = business_keys.aml_decision("inv-1", "case-70", at)
    assert not other_case.startswith(business_keys.aml_case("inv-1", "case-7"))
    assert business_keys.subject_of(f"{first}#freeze-line") == "aml#inv-1"


def test_an_aml_notification_carries_no_reason_others_do() -> None:
    for kind in ("InvestorBlocked", "InvestorCleared"):
        assert notification_reason(kind, "sanctions list match") is None
    assert notification_reason("KycRejected", "document expired") == "document expired"


def test_a_refused_request_is_kept_bounded_an_accepted_one_whole() -> None:
    body = b'{"x": "' + b"a" * 300_000 + b'"}'
    headers = {"content-type": "application/json", "x-drexfy-timestamp": "1" * 500}
    refused = kept_request(body, headers, accepted=False)
    assert len(refused.body.encode()) <= KEPT_PREFIX_BYTES
    assert (refused.size, refused.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert refused.signature_present is False and len(refused.timestamp or "") < 500
    assert kept_request(body, headers, accepted=True).body == body.decode()

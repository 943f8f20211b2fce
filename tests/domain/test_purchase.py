import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import BusinessRuleViolation, PaymentRejected
from domain.money import parse_amount
from domain.purchase import Payment, failure_reason, purchase_id_for

VALID = {
    "payment_id": "pay-1",
    "investor_id": "inv-1",
    "instrument_id": "SME-2027-A",
    "units": 3,
    "amount": "300.00",
    "currency": "EUR",
}


def test_a_valid_payment_keeps_its_amount_exactly() -> None:
    payment = Payment.from_event(VALID)
    assert payment.amount == Decimal("300.00")
    assert payment.units == 3
    assert payment.purchase_id == purchase_id_for("pay-1")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("amount", 300.1, "not float"),
        ("amount", "-5", "must be positive"),
        ("amount", "1.001", "more than two decimals"),
        ("amount", "NaN", "must be positive"),
        ("amount", "abc", "is not a number"),
        ("currency", "USD", "is not one of"),
        ("units", 0, "positive integer"),
        ("units", True, "positive integer"),
        ("payment_id", "", "payment_id must be"),
        ("investor_id", "a b", "investor_id must be"),
        ("instrument_id", None, "instrument_id must be"),
    ],
)
def test_a_malformed_payment_is_rejected_with_the_reason(
    field: str, value: object, reason: str
) -> None:
    with pytest.raises(PaymentRejected, match=reason) as raised:
        Payment.from_event({**VALID, field: value})
    assert isinstance(raised.value, BusinessRuleViolation)


@given(st.text(min_size=1, max_size=200))
def test_purchase_ids_are_stable_and_valid_execution_names(payment_id: str) -> None:
    purchase_id = purchase_id_for(payment_id)
    assert purchase_id == purchase_id_for(payment_id)
    assert len(purchase_id) <= 80 and purchase_id.isascii() and " " not in purchase_id


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e12"), places=2))
def test_amounts_round_trip_through_text_exactly(amount: Decimal) -> None:
    assert parse_amount(str(amount)) == amount


@given(st.integers(min_value=1, max_value=10**12))
def test_integer_amounts_are_accepted(amount: int) -> None:
    assert parse_amount(amount) == Decimal(amount)


def test_failure_reason_reads_the_lambda_error_message() -> None:
    cause = json.dumps(
        {"errorType": "PaymentRejected", "errorMessage": "currency 'USD' is not one of"}
    )
    assert failure_reason({"Error": "PaymentRejected", "Cause": cause}) == (
        "PaymentRejected: currency 'USD' is not one of"
    )
    assert failure_reason({"Error": "States.Timeout", "Cause": "took too long"}) == (
        "States.Timeout: took too long"
    )
    assert failure_reason({}) == "UnknownError"

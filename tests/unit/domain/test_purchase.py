import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import BusinessRuleViolation, PaymentNotAnnounced, PaymentRejected
from domain.money import parse_amount
from domain.purchase import (
    Payment,
    failure_reason,
    payment_as_announced,
    purchase_id_for,
)

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


# --- only what the gateway's authenticated webhook announced -----------------------------------


def test_a_payment_is_taken_exactly_as_announced() -> None:
    announced = Payment.from_event(VALID)
    assert payment_as_announced({**VALID, "amount": "300.0"}, announced) == Payment.from_event(
        VALID
    )


def test_a_payment_nobody_announced_is_refused_whatever_it_says() -> None:
    for detail in (VALID, {}, {"payment_id": "x" * 5000}):
        with pytest.raises(PaymentNotAnnounced, match="no authenticated gateway webhook"):
            payment_as_announced(detail, None)


@given(
    field=st.sampled_from(["investor_id", "instrument_id", "units", "amount", "currency"]),
    data=st.data(),
)
def test_any_field_changed_after_the_announcement_is_refused_and_named(
    field: str, data: st.DataObject
) -> None:
    announced = Payment.from_event(VALID)
    other = {
        "investor_id": st.sampled_from(["inv-2", "inv-attacker"]),
        "instrument_id": st.sampled_from(["SME-2028-B", "SME-2029-C"]),
        "units": st.integers(1, 10**6).filter(lambda u: u != 3),
        "amount": st.decimals(Decimal("0.01"), Decimal("1e9"), places=2)
        .filter(lambda a: a != Decimal("300.00"))
        .map(str),
        "currency": st.sampled_from(["USD", "GBP", "eur"]),
    }[field]
    edited = {**VALID, field: data.draw(other)}
    with pytest.raises(PaymentNotAnnounced) as refused:
        payment_as_announced(edited, announced)
    assert field in str(refused.value)
    assert isinstance(refused.value, BusinessRuleViolation)
    assert not isinstance(refused.value, PaymentRejected), "never refunded: no money came"

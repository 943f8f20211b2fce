"""Payout accounts: IBANs checked by their check digits, shown masked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.bank_account import BankAccount, parse_iban

# Published examples (the European Committee for Banking Standards' and the banks' own).
VALID = ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR1420041010050500013M02606"]


@pytest.mark.parametrize("text", VALID)
def test_a_published_iban_is_accepted_without_its_spaces(text: str) -> None:
    assert parse_iban(text) == text.replace(" ", "")
    assert parse_iban(text.lower()) == text.replace(" ", "")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("DE89370400440532013001", "check digits do not match"),
        ("DE8937040044", "is not an IBAN"),
        ("1234567890123456", "is not an IBAN"),
        ("DE89-3704-0044-0532-0130-00", "is not an IBAN"),
        (12345, "an IBAN is text"),
    ],
)
def test_a_wrong_iban_is_refused_saying_why(text: object, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_iban(text)


@given(st.sampled_from(VALID), st.data())
def test_any_single_changed_digit_is_caught(text: str, data: st.DataObject) -> None:
    iban = text.replace(" ", "")
    digits = [i for i, c in enumerate(iban) if c.isdigit()]
    at = data.draw(st.sampled_from(digits))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != iban[at]]))
    with pytest.raises(ValueError):
        parse_iban(iban[:at] + other + iban[at + 1 :])


def test_the_account_is_shown_masked() -> None:
    assert BankAccount("DE89370400440532013000", "Ada Lovelace").masked == "DE89…3000"

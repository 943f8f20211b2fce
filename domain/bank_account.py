"""The bank account an investor's money is paid out to: the one the KYC provider verified.

A withdrawal never takes an account from its request: the payout goes to the account on record,
so a stolen frontend session cannot send an investor's money elsewhere.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

# ISO 13616: two letters (the country), two check digits, up to 30 letters and digits.
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_LETTER_VALUES = {letter: str(index) for index, letter in enumerate(string.ascii_uppercase, 10)}


@dataclass(frozen=True)
class BankAccount:
    iban: str  # as parse_iban gives it: no spaces, upper case, checked
    holder_name: str

    @property
    def masked(self) -> str:
        """What operators and the frontend see: enough to recognise it, not to use it."""
        return f"{self.iban[:4]}…{self.iban[-4:]}"


def parse_iban(text: object) -> str:
    """An IBAN as printed or typed (spaces allowed), checked by its mod-97 check digits;
    ValueError saying why not."""
    if not isinstance(text, str):
        raise ValueError("an IBAN is text")
    iban = text.replace(" ", "").upper()
    if not _IBAN.match(iban):
        raise ValueError(f"{_shown(iban)} is not an IBAN (country, check digits, account)")
    rearranged = iban[4:] + iban[:4]
    if int("".join(_LETTER_VALUES.get(c, c) for c in rearranged)) % 97 != 1:
        raise ValueError(f"{_shown(iban)}: the check digits do not match (a typing error?)")
    return iban


def _shown(iban: str) -> str:
    return f"{iban[:4]}…" if len(iban) > 8 else "the text"

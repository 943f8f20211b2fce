"""XRPL amounts: XRP drops (int), issued currency (IOU) and MPT values.

IOU values follow rippled's STAmount/IOUAmount: a signed 16-digit mantissa in
[10^15, 10^16) and an exponent in [-96, 80]. Arithmetic is exact Decimal math
rounded to 16 significant digits (rippled's Number rounds to nearest), never
float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import NamedTuple

MIN_MANTISSA = 10**15
MAX_MANTISSA = 10**16 - 1
MIN_EXPONENT = -96
MAX_EXPONENT = 80
MAX_MPT = 0x7FFFFFFFFFFFFFFF
MAX_XRP_DROPS = 100_000_000_000 * 1_000_000

_EXACT = Context(prec=200, rounding=ROUND_HALF_EVEN)
_ZERO = Decimal(0)
ACCOUNT_ONE = b"\x00" * 19 + b"\x01"
XRP_CURRENCY = b"\x00" * 20


class IOU(NamedTuple):
    value: Decimal
    currency: bytes
    issuer: bytes


class MPT(NamedTuple):
    value: int
    mpt_id: bytes


Amount = int | IOU | MPT


class AmountOverflow(ArithmeticError):
    """The value does not fit an STAmount."""


def mantissa_exponent(value: Decimal) -> tuple[int, int]:
    """Canonical (signed mantissa, exponent) of a normalized value; (0, -100) for zero."""
    if value == 0:
        return 0, -100
    sign, digits, exp = value.as_tuple()
    assert isinstance(exp, int)
    mantissa = int("".join(map(str, digits)))
    while mantissa < MIN_MANTISSA:
        mantissa *= 10
        exp -= 1
    while mantissa > MAX_MANTISSA:
        # Only reachable for values built outside normalize(); truncate like rippled.
        mantissa //= 10
        exp += 1
    return (-mantissa if sign else mantissa), exp


def normalize(value: Decimal) -> Decimal:
    """Round to 16 significant digits and enforce the STAmount exponent range."""
    if value == 0:
        return _ZERO
    with localcontext(_EXACT):
        adjusted = value.adjusted()  # exponent of the leading digit
        quantum = Decimal(1).scaleb(adjusted - 15)
        rounded = value.quantize(quantum, rounding=ROUND_HALF_EVEN)
    if rounded.adjusted() - 15 > MAX_EXPONENT:
        raise AmountOverflow(str(value))
    if rounded.adjusted() - 15 < MIN_EXPONENT:
        return _ZERO
    return rounded.normalize(_EXACT) if rounded != 0 else _ZERO


def iou_from_parts(mantissa: int, exponent: int, currency: bytes, issuer: bytes) -> IOU:
    return IOU(normalize(Decimal(mantissa).scaleb(exponent)), currency, issuer)


def add(a: Decimal, b: Decimal) -> Decimal:
    with localcontext(_EXACT):
        return normalize(a + b)


def sub(a: Decimal, b: Decimal) -> Decimal:
    with localcontext(_EXACT):
        return normalize(a - b)


def mul(a: Decimal, b: Decimal) -> Decimal:
    with localcontext(_EXACT):
        return normalize(a * b)


def div(a: Decimal, b: Decimal) -> Decimal:
    with localcontext(_EXACT):
        return normalize(a / b)


def iou_text(value: Decimal) -> str:
    """rippled's STAmount::getText for an issued value."""
    if value == 0:
        return "0"
    mantissa, exponent = mantissa_exponent(value)
    negative = mantissa < 0
    raw = str(abs(mantissa))
    prefix = "-" if negative else ""
    if exponent != 0 and (exponent < -25 or exponent > -5):
        return f"{prefix}{raw}e{exponent}"
    padded = "0" * 27 + raw + "0" * 23
    split = exponent + 43
    integer = padded[:split].lstrip("0") or "0"
    fraction = padded[split:].rstrip("0")
    return prefix + integer + ("." + fraction if fraction else "")


def currency_text(currency: bytes) -> str:
    """Three-letter ISO code when the 160 bits are in standard form, else hex."""
    if currency == XRP_CURRENCY:
        return "XRP"
    if (
        currency[:12] == b"\x00" * 12
        and currency[15:] == b"\x00" * 5
        and all(0x20 < c < 0x7F for c in currency[12:15])
    ):
        return currency[12:15].decode("ascii")
    return currency.hex().upper()


def is_legal_xrp(drops: int) -> bool:
    return 0 <= drops <= MAX_XRP_DROPS

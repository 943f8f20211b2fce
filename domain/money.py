"""Money as the platform counts it: Decimal in the payment's currency, never float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

SUPPORTED_CURRENCIES = frozenset({"EUR"})
CENT = Decimal("0.01")


def parse_amount(raw: object) -> Decimal:
    """An amount from an outside system: a positive number with at most cent precision.

    Floats are refused because they already lost precision before they reached us.
    """
    if isinstance(raw, (float, bool)):
        raise ValueError(f"amount must be a decimal string or integer, not {type(raw).__name__}")
    try:
        amount = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"amount {raw!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount {raw!r} must be positive")
    try:
        cents = amount.quantize(CENT)
    except InvalidOperation:  # more digits than the context holds: no real amount is that large
        raise ValueError(f"amount {raw!r} is too large") from None
    if amount != cents:
        raise ValueError(f"amount {raw!r} has more than two decimals")
    return cents

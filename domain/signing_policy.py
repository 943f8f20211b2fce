"""What an investor's custodial wallet may sign: only what the platform's flows need.

A caller that could ask the Signer for anything could drain a wallet; this policy is the wall.
It reads the transaction as XRPL JSON and refuses anything not on the list below.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from domain.errors import BusinessRuleViolation
from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts

TF_SET_NO_RIPPLE = 0x00020000
TF_CLEAR_NO_RIPPLE = 0x00040000
TF_FULLY_CANONICAL_SIG = 0x80000000
MAX_FEE_DROPS = 5_000  # a fee-escalation ceiling; more than this drains XRP, not a flow's need
_COMMON_FIELDS = {
    "TransactionType",
    "Account",
    "Fee",
    "Sequence",
    "TicketSequence",
    "LastLedgerSequence",
    "Flags",
    "SigningPubKey",
    "NetworkID",
}


class SigningRefused(BusinessRuleViolation):
    """The transaction is not one an investor wallet may sign."""


def check_investor_transaction(
    tx: Mapping[str, Any],
    investor_address: str,
    accounts: PlatformAccounts,
    instrument_issuances: Collection[str],
) -> None:
    """Raise SigningRefused unless tx is a platform flow's transaction for this investor."""
    kind = tx.get("TransactionType")
    rule = _RULES.get(str(kind))
    if rule is None:
        raise SigningRefused(f"investor wallets never sign {kind}")
    allowed_fields, allowed_flags, check = rule
    extra = set(tx) - _COMMON_FIELDS - allowed_fields
    if extra:
        raise SigningRefused(f"{kind} with {sorted(extra)} is not a platform flow")
    if tx.get("Account") != investor_address:
        raise SigningRefused(f"{kind} must be from the investor's own account")
    flags = int(tx.get("Flags", 0)) & ~TF_FULLY_CANONICAL_SIG
    if flags & ~allowed_flags:
        raise SigningRefused(f"{kind} flags {flags:#x} are not allowed")
    _check_fee(tx)
    check(tx, accounts, instrument_issuances)


def _check_fee(tx: Mapping[str, Any]) -> None:
    fee = tx.get("Fee")
    if not isinstance(fee, str) or not fee.isdigit() or int(fee) > MAX_FEE_DROPS:
        raise SigningRefused(f"fee {fee!r} must be at most {MAX_FEE_DROPS} drops")


def _trust_line(tx: Mapping[str, Any], accounts: PlatformAccounts, _: Collection[str]) -> None:
    limit = tx.get("LimitAmount")
    if not isinstance(limit, Mapping) or limit.get("issuer") != accounts.issuer:
        raise SigningRefused("trust lines only to the platform's stablecoin issuer")
    if limit.get("currency") != STABLECOIN_CURRENCY:
        raise SigningRefused(f"trust lines only for {STABLECOIN_CURRENCY}")


def _mptoken(tx: Mapping[str, Any], _: PlatformAccounts, issuances: Collection[str]) -> None:
    if tx.get("MPTokenIssuanceID") not in issuances:
        raise SigningRefused("MPToken authorization only for the platform's instruments")


def _payment(tx: Mapping[str, Any], accounts: PlatformAccounts, issuances: Collection[str]) -> None:
    if tx.get("Destination") not in (accounts.company, accounts.issuer):
        raise SigningRefused("payments only to the platform's issuer or securitization company")
    amount = tx.get("Amount")
    if not isinstance(amount, Mapping):
        raise SigningRefused("investor wallets never send XRP")
    is_stablecoin = (
        amount.get("currency") == STABLECOIN_CURRENCY and amount.get("issuer") == accounts.issuer
    )
    is_instrument = amount.get("mpt_issuance_id") in issuances
    if not (is_stablecoin or is_instrument):
        raise SigningRefused("payments only of the platform's stablecoin or instruments")


_RULES = {
    "TrustSet": ({"LimitAmount"}, TF_SET_NO_RIPPLE | TF_CLEAR_NO_RIPPLE, _trust_line),
    "MPTokenAuthorize": ({"MPTokenIssuanceID"}, 0, _mptoken),
    "Payment": ({"Destination", "Amount"}, 0, _payment),
}

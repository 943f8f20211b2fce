"""What each key may sign: only the transactions the platform's flows need.

The signers (lambdas/custody/) apply these rules before touching KMS, so a caller that may ask a
signer for a signature still cannot drain a wallet or take over a platform account. Every rule
reads the transaction as XRPL JSON; anything not listed is refused, and a malformed field is a
refusal too, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.errors import BusinessRuleViolation
from domain.instruments import INSTRUMENT_FLAGS
from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts, SignerRole

TF_SET_AUTH = 0x00010000
TF_SET_NO_RIPPLE = 0x00020000
TF_CLEAR_NO_RIPPLE = 0x00040000
TF_SET_FREEZE = 0x00100000
TF_CLEAR_FREEZE = 0x00200000
TF_MPT_LOCK = 0x00000001
TF_MPT_UNLOCK = 0x00000002
TF_FULLY_CANONICAL_SIG = 0x80000000
MAX_FEE_DROPS = 5_000  # a fee-escalation ceiling; more than this drains XRP, not a flow's need
MAX_LINE_LIMIT = Decimal(1_000_000_000)  # the platform's own lines ask for exactly this
MAX_TICKETS = 250  # rippled's limit per TicketCreate
MAX_FUNDING_DROPS = 1_000_000_000  # 1,000 XRP: an activation or a platform account's reserve
# AccountSet flags the issuer sets once at bootstrap: RequireAuth, DefaultRipple, clawback.
ISSUER_ACCOUNT_FLAGS = frozenset({2, 8, 16})
_COMMON_FIELDS = frozenset(
    {
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
)


class SigningRefused(BusinessRuleViolation):
    """The transaction is not one this key may sign."""


@dataclass(frozen=True)
class PurchaseLimit:
    """What an investor's wallet may pay for one purchase: its stablecoin and its units."""

    purchase_id: str
    amount: Decimal
    units: int
    issuance_id: str


@dataclass(frozen=True)
class WithdrawalLimit:
    """What an investor's wallet may redeem for one withdrawal: exactly its amount, to the
    issuer, while the withdrawal waits for its redemption (domain/withdrawal.py)."""

    withdrawal_id: str
    amount: Decimal
    pending: bool


@dataclass(frozen=True)
class HolderPaymentLimit:
    """What the company may pay one holder on one payment date: their entitlement, to their
    wallet, while it is owed (domain/distribution.py)."""

    address: str
    amount: Decimal
    owed: bool


@dataclass(frozen=True)
class _Signing:
    """Everything a rule may consult."""

    tx: Mapping[str, Any]
    account: str
    accounts: PlatformAccounts
    issuances: Collection[str]
    purchase: PurchaseLimit | None = None
    holder_payment: HolderPaymentLimit | None = None
    withdrawal: WithdrawalLimit | None = None


Rule = tuple[frozenset[str], int, Callable[[_Signing], None]]  # fields, flags, check


def check_investor_transaction(
    tx: Mapping[str, Any],
    investor_address: str,
    accounts: PlatformAccounts,
    purchase: PurchaseLimit | None,
    *,
    withdrawal: WithdrawalLimit | None = None,
    draft: bool = False,
) -> None:
    """Raise SigningRefused unless tx is a platform flow's transaction for this investor.

    Payments need the purchase they serve and stay within it, or redeem exactly a pending
    withdrawal. `draft` checks a transaction before its Sequence, fee and LastLedgerSequence
    are filled in."""
    issuances = (purchase.issuance_id,) if purchase else ()
    signing = _Signing(tx, investor_address, accounts, issuances, purchase, withdrawal=withdrawal)
    _check(signing, _INVESTOR_RULES, "investor wallets", draft)


def check_platform_transaction(
    role: str,
    tx: Mapping[str, Any],
    accounts: PlatformAccounts,
    issuances: Collection[str],
    *,
    holder_payment: HolderPaymentLimit | None = None,
    draft: bool = False,
) -> None:
    """Raise SigningRefused unless tx is one the platform account `role` signs in its flows:
    never SetRegularKey, SignerListSet, AccountDelete or any type its role has no use for.
    The company pays a holder stablecoin only within `holder_payment`, their entitlement."""
    rules = _PLATFORM_RULES.get(role)
    if rules is None:
        raise SigningRefused(f"no platform account {role!r}")
    account = accounts.roles()[SignerRole(role)]
    signing = _Signing(tx, account, accounts, issuances, holder_payment=holder_payment)
    _check(signing, rules, f"the {role}", draft)


def _check(signing: _Signing, rules: Mapping[str, Rule], signer: str, draft: bool) -> None:
    tx = signing.tx
    if not isinstance(tx, Mapping):
        raise SigningRefused("a transaction must be a JSON object")
    kind = tx.get("TransactionType")
    rule = rules.get(str(kind))
    if rule is None:
        raise SigningRefused(f"{signer} never sign {kind}")
    allowed_fields, allowed_flags, check = rule
    extra = set(tx) - _COMMON_FIELDS - allowed_fields
    if extra:
        raise SigningRefused(f"{kind} with {sorted(extra)} is not a platform flow")
    if tx.get("Account") != signing.account:
        raise SigningRefused(f"{kind} must be from the signer's own account")
    try:
        flags = _integer(tx.get("Flags", 0), "Flags") & ~TF_FULLY_CANONICAL_SIG
        if flags & ~allowed_flags:
            raise SigningRefused(f"{kind} flags {flags:#x} are not allowed")
        if not draft:
            _check_envelope(tx)
        check(signing)
    except (TypeError, ValueError, AttributeError, InvalidOperation, KeyError) as malformed:
        raise SigningRefused(f"{kind} is malformed: {malformed}") from None


def _check_envelope(tx: Mapping[str, Any]) -> None:
    """Fee bounded; LastLedgerSequence set, so an unvalidated blob provably expires."""
    fee = tx.get("Fee")
    if not isinstance(fee, str) or not fee.isdigit() or int(fee) > MAX_FEE_DROPS:
        raise SigningRefused(f"fee {fee!r} must be at most {MAX_FEE_DROPS} drops")
    if _integer(tx.get("LastLedgerSequence"), "LastLedgerSequence") <= 0:
        raise SigningRefused("LastLedgerSequence must be set")


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SigningRefused(f"{name} must be an integer, not {value!r}")
    return value


def _positive(value: Any, name: str, at_most: Decimal | None = None) -> Decimal:
    if not isinstance(value, str):
        raise SigningRefused(f"{name} must be a decimal string, not {value!r}")
    amount = Decimal(value)
    if not amount.is_finite() or amount <= 0:
        raise SigningRefused(f"{name} {value} must be positive")
    if at_most is not None and amount > at_most:
        raise SigningRefused(f"{name} {value} is more than {at_most}")
    return amount


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SigningRefused(f"{name} must be an object, not {value!r}")
    return value


def _stablecoin(amount: Mapping[str, Any], issuer: str) -> bool:
    return amount.get("currency") == STABLECOIN_CURRENCY and amount.get("issuer") == issuer


# --- investor wallets ---------------------------------------------------------------------


def _investor_line(s: _Signing) -> None:
    limit = _mapping(s.tx.get("LimitAmount"), "LimitAmount")
    if not _stablecoin(limit, s.accounts.issuer):
        raise SigningRefused(f"trust lines only for the platform's {STABLECOIN_CURRENCY}")
    if not isinstance(limit.get("value"), str) or not (
        Decimal(0) <= Decimal(limit["value"]) <= MAX_LINE_LIMIT
    ):
        raise SigningRefused(f"a trust line limit is between 0 and {MAX_LINE_LIMIT}")


def _investor_mptoken(s: _Signing) -> None:
    if s.tx.get("MPTokenIssuanceID") not in s.issuances:
        raise SigningRefused("MPToken authorization only for the instrument being bought")


def _investor_payment(s: _Signing) -> None:
    if s.withdrawal is not None:
        _redemption(s)
        return
    if s.purchase is None:
        raise SigningRefused("an investor's payment needs the purchase or withdrawal it serves")
    if s.tx.get("Destination") not in (s.accounts.company, s.accounts.issuer):
        raise SigningRefused("payments only to the platform's issuer or securitization company")
    amount = _mapping(s.tx.get("Amount"), "Amount")  # a string would be XRP
    if _stablecoin(amount, s.accounts.issuer):
        _positive(amount.get("value"), "stablecoin amount", s.purchase.amount)
    elif amount.get("mpt_issuance_id") == s.purchase.issuance_id:
        _positive(amount.get("value"), "units", Decimal(s.purchase.units))
    else:
        raise SigningRefused("payments only of the platform's stablecoin or the instrument bought")


def _redemption(s: _Signing) -> None:
    """A withdrawal's redemption: exactly its amount of stablecoin, to the issuer, once."""
    limit = s.withdrawal
    assert limit is not None
    amount = _mapping(s.tx.get("Amount"), "Amount")
    if s.tx.get("Destination") != s.accounts.issuer or not _stablecoin(amount, s.accounts.issuer):
        raise SigningRefused("a withdrawal redeems the platform's stablecoin to its issuer only")
    if not limit.pending:
        raise SigningRefused(f"withdrawal {limit.withdrawal_id} is not waiting to be redeemed")
    if _positive(amount.get("value"), "stablecoin amount") != limit.amount:
        raise SigningRefused(f"the withdrawal is {limit.amount}, not {amount.get('value')}")


_INVESTOR_RULES: Mapping[str, Rule] = {
    "TrustSet": (
        frozenset({"LimitAmount"}),
        TF_SET_NO_RIPPLE | TF_CLEAR_NO_RIPPLE,
        _investor_line,
    ),
    "MPTokenAuthorize": (frozenset({"MPTokenIssuanceID"}), 0, _investor_mptoken),
    "Payment": (frozenset({"Destination", "Amount"}), 0, _investor_payment),
}


# --- platform accounts ----------------------------------------------------------------------


def _tickets(s: _Signing) -> None:
    count = _integer(s.tx.get("TicketCount"), "TicketCount")
    if not 1 <= count <= MAX_TICKETS:
        raise SigningRefused(f"TicketCount {count} is not between 1 and {MAX_TICKETS}")


def _mint(s: _Signing) -> None:
    amount = _mapping(s.tx.get("Amount"), "Amount")
    if not _stablecoin(amount, s.accounts.issuer):
        raise SigningRefused("the issuer pays only its own stablecoin")
    if s.tx.get("Destination") in (s.accounts.issuer, None):
        raise SigningRefused("a mint needs a destination other than the issuer")
    _positive(amount.get("value"), "stablecoin amount")


def _stablecoin_clawback(s: _Signing) -> None:
    amount = _mapping(s.tx.get("Amount"), "Amount")
    holder = amount.get("issuer")  # in a Clawback, the holder clawed back from
    if amount.get("currency") != STABLECOIN_CURRENCY or holder in (s.accounts.issuer, None):
        raise SigningRefused("the issuer claws back only its stablecoin, from a holder")
    _positive(amount.get("value"), "stablecoin amount")


def _line_authorization(s: _Signing) -> None:
    limit = _mapping(s.tx.get("LimitAmount"), "LimitAmount")
    if limit.get("currency") != STABLECOIN_CURRENCY or limit.get("issuer") == s.accounts.issuer:
        raise SigningRefused("the issuer authorizes or freezes only holders' stablecoin lines")
    if limit.get("value") != "0":
        raise SigningRefused("the issuer extends no credit on a holder's line")


def _issuer_flags(s: _Signing) -> None:
    if s.tx.get("SetFlag") not in ISSUER_ACCOUNT_FLAGS:
        raise SigningRefused(f"the issuer sets only flags {sorted(ISSUER_ACCOUNT_FLAGS)}")


def _company_payment(s: _Signing) -> None:
    amount = _mapping(s.tx.get("Amount"), "Amount")
    destination = s.tx.get("Destination")
    if amount.get("mpt_issuance_id") in s.issuances:
        if destination in (s.accounts.company, None):
            raise SigningRefused("instruments go to a holder")
        _positive(amount.get("value"), "units")
    elif _stablecoin(amount, s.accounts.issuer) and destination == s.accounts.issuer:
        _positive(amount.get("value"), "stablecoin amount")  # redeemed: back to the issuer
    elif _stablecoin(amount, s.accounts.issuer):
        _holder_payment(s, destination, amount)
    else:
        raise SigningRefused("the company pays only instruments, or stablecoin to its issuer")


def _holder_payment(s: _Signing, destination: Any, amount: Mapping[str, Any]) -> None:
    """Coupons and principal: exactly a holder's entitlement, to the holder, while owed."""
    limit = s.holder_payment
    if limit is None:
        raise SigningRefused("stablecoin to a holder needs the entitlement it pays")
    if destination != limit.address:
        raise SigningRefused("an entitlement is paid to its holder's wallet only")
    if not limit.owed:
        raise SigningRefused("the entitlement is not owed now (paid or held in suspense)")
    if _positive(amount.get("value"), "stablecoin amount") != limit.amount:
        raise SigningRefused(f"the entitlement is {limit.amount}, not {amount.get('value')}")


def _instrument_clawback(s: _Signing) -> None:
    amount = _mapping(s.tx.get("Amount"), "Amount")
    if amount.get("mpt_issuance_id") not in s.issuances or not s.tx.get("Holder"):
        raise SigningRefused("the company claws back only its instruments, from a holder")
    _positive(amount.get("value"), "units")


def _company_line(s: _Signing) -> None:
    limit = _mapping(s.tx.get("LimitAmount"), "LimitAmount")
    if not _stablecoin(limit, s.accounts.issuer):
        raise SigningRefused("the company's only line is to the platform's stablecoin")
    _positive(limit.get("value"), "trust line limit", MAX_LINE_LIMIT)


def _issuance(s: _Signing) -> None:
    if _integer(s.tx.get("Flags", 0), "Flags") != INSTRUMENT_FLAGS:
        raise SigningRefused(f"instruments are issued with flags {INSTRUMENT_FLAGS:#x}")
    if s.tx.get("AssetScale") != 0:
        raise SigningRefused("instruments are whole units (AssetScale 0)")
    _positive(s.tx.get("MaximumAmount"), "MaximumAmount")
    bytes.fromhex(str(s.tx.get("MPTokenMetadata")))


def _holder_of_issuance(s: _Signing) -> None:
    if s.tx.get("MPTokenIssuanceID") not in s.issuances or not s.tx.get("Holder"):
        raise SigningRefused("only for a holder of the platform's instruments")


def _issuance_of_ours(s: _Signing) -> None:
    if s.tx.get("MPTokenIssuanceID") not in s.issuances:
        raise SigningRefused("only the platform's own instruments' issuances")


def _lock(s: _Signing) -> None:
    _holder_of_issuance(s)
    if (_integer(s.tx.get("Flags", 0), "Flags") & ~TF_FULLY_CANONICAL_SIG) not in (
        TF_MPT_LOCK,
        TF_MPT_UNLOCK,
    ):
        raise SigningRefused("an instrument holding is locked or unlocked, one at a time")


def _activation(s: _Signing) -> None:
    amount = s.tx.get("Amount")
    if not isinstance(amount, str) or not amount.isdigit():
        raise SigningRefused("the funding account pays only XRP")
    if not 0 < int(amount) <= MAX_FUNDING_DROPS:
        raise SigningRefused(f"at most {MAX_FUNDING_DROPS} drops per activation")
    if s.tx.get("Destination") in (s.accounts.funding, None):
        raise SigningRefused("an activation needs another account")


_TICKET_CREATE: Rule = (frozenset({"TicketCount"}), 0, _tickets)
_PLATFORM_RULES: Mapping[str, Mapping[str, Rule]] = {
    "issuer": {
        "Payment": (frozenset({"Destination", "Amount"}), 0, _mint),
        "Clawback": (frozenset({"Amount"}), 0, _stablecoin_clawback),
        "TrustSet": (
            frozenset({"LimitAmount"}),
            TF_SET_AUTH | TF_SET_FREEZE | TF_CLEAR_FREEZE,
            _line_authorization,
        ),
        "AccountSet": (frozenset({"SetFlag"}), 0, _issuer_flags),
        "TicketCreate": _TICKET_CREATE,
    },
    "company": {
        "Payment": (frozenset({"Destination", "Amount"}), 0, _company_payment),
        "Clawback": (frozenset({"Amount", "Holder"}), 0, _instrument_clawback),
        "TrustSet": (
            frozenset({"LimitAmount"}),
            TF_SET_NO_RIPPLE | TF_CLEAR_NO_RIPPLE,
            _company_line,
        ),
        "MPTokenIssuanceCreate": (
            frozenset({"AssetScale", "MaximumAmount", "MPTokenMetadata"}),
            INSTRUMENT_FLAGS,
            _issuance,
        ),
        "MPTokenIssuanceSet": (
            frozenset({"MPTokenIssuanceID", "Holder"}),
            TF_MPT_LOCK | TF_MPT_UNLOCK,
            _lock,
        ),
        "MPTokenAuthorize": (frozenset({"MPTokenIssuanceID", "Holder"}), 0, _holder_of_issuance),
        # at maturity, once every unit is taken back (the ledger refuses it before)
        "MPTokenIssuanceDestroy": (frozenset({"MPTokenIssuanceID"}), 0, _issuance_of_ours),
        "TicketCreate": _TICKET_CREATE,
    },
    "funding": {
        "Payment": (frozenset({"Destination", "Amount"}), 0, _activation),
        "TicketCreate": _TICKET_CREATE,
    },
}

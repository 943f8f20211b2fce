"""Trust line (RippleState) helpers after rippled's View.cpp: create, delete, credit."""

from __future__ import annotations

from decimal import Decimal

from local.ledger_server import amounts, keylets
from local.ledger_server.amounts import ACCOUNT_ONE, IOU
from local.ledger_server.view import (
    LT_RIPPLE_STATE,
    SLE,
    TxView,
    adjust_owner_count,
    dir_add,
    dir_remove,
)

LSF_LOW_RESERVE = 0x00010000
LSF_HIGH_RESERVE = 0x00020000
LSF_LOW_AUTH = 0x00040000
LSF_HIGH_AUTH = 0x00080000
LSF_LOW_NO_RIPPLE = 0x00100000
LSF_HIGH_NO_RIPPLE = 0x00200000
LSF_LOW_FREEZE = 0x00400000
LSF_HIGH_FREEZE = 0x00800000
LSF_LOW_DEEP_FREEZE = 0x02000000
LSF_HIGH_DEEP_FREEZE = 0x04000000

# AccountRoot flags used by trust line logic.
LSF_REQUIRE_AUTH = 0x00040000
LSF_NO_FREEZE = 0x00200000
LSF_GLOBAL_FREEZE = 0x00400000
LSF_DEFAULT_RIPPLE = 0x00800000
LSF_DEPOSIT_AUTH = 0x01000000
LSF_DISALLOW_INCOMING_NFTOKEN_OFFER = 0x04000000
LSF_DISALLOW_INCOMING_CHECK = 0x08000000
LSF_DISALLOW_INCOMING_PAYCHAN = 0x10000000
LSF_DISALLOW_INCOMING_TRUSTLINE = 0x20000000
LSF_ALLOW_TRUSTLINE_LOCKING = 0x40000000
LSF_ALLOW_TRUSTLINE_CLAWBACK = 0x80000000


def side_flag(account: bytes, peer: bytes, low_flag: int, high_flag: int) -> int:
    """The flag for account's own side of its line with peer."""
    return high_flag if account > peer else low_flag


def balance_for(line: SLE, account: bytes) -> Decimal:
    """Line balance from account's point of view (positive: the peer owes account)."""
    value: Decimal = line["Balance"].value
    return value if line["LowLimit"].issuer == account else -value


def limit_of(line: SLE, account: bytes) -> Decimal:
    field = "LowLimit" if line["LowLimit"].issuer == account else "HighLimit"
    value: Decimal = line[field].value
    return value


def account_sle(view: TxView, account_id: bytes) -> SLE | None:
    return view.read(keylets.account(account_id))


def is_frozen(view: TxView, account: bytes, currency: bytes, issuer: bytes) -> bool:
    """rippled isFrozen: global freeze on the issuer or the issuer froze this line."""
    issuer_sle = account_sle(view, issuer)
    if issuer_sle is not None and issuer_sle["Flags"] & LSF_GLOBAL_FREEZE:
        return True
    if account == issuer:
        return False
    line = view.read(keylets.line(account, issuer, currency))
    if line is None:
        return False
    return bool(line["Flags"] & side_flag(issuer, account, LSF_LOW_FREEZE, LSF_HIGH_FREEZE))


def account_holds(
    view: TxView, account: bytes, currency: bytes, issuer: bytes, ignore_freeze: bool
) -> Decimal:
    line = view.read(keylets.line(account, issuer, currency))
    if line is None:
        return Decimal(0)
    if not ignore_freeze and is_frozen(view, account, currency, issuer):
        return Decimal(0)
    return max(balance_for(line, account), Decimal(0))


def trust_create(
    view: TxView,
    setter: bytes,
    peer: bytes,
    currency: bytes,
    limit: Decimal,
    *,
    auth: bool = False,
    no_ripple: bool = False,
    freeze: bool = False,
    deep_freeze: bool = False,
    quality_in: int = 0,
    quality_out: int = 0,
) -> None:
    """Create a line whose reserve is charged to setter (rippled trustCreate)."""
    key = keylets.line(setter, peer, currency)
    high = setter > peer
    low_acct, high_acct = (peer, setter) if high else (setter, peer)
    low_node = dir_add(view, low_acct, key)
    high_node = dir_add(view, high_acct, key)
    flags = LSF_HIGH_RESERVE if high else LSF_LOW_RESERVE
    if auth:
        flags |= LSF_HIGH_AUTH if high else LSF_LOW_AUTH
    if no_ripple:
        flags |= LSF_HIGH_NO_RIPPLE if high else LSF_LOW_NO_RIPPLE
    if freeze:
        flags |= LSF_HIGH_FREEZE if high else LSF_LOW_FREEZE
    if deep_freeze:
        flags |= LSF_HIGH_DEEP_FREEZE if high else LSF_LOW_DEEP_FREEZE
    peer_sle = account_sle(view, peer)
    assert peer_sle is not None
    if not peer_sle["Flags"] & LSF_DEFAULT_RIPPLE:
        flags |= LSF_LOW_NO_RIPPLE if high else LSF_HIGH_NO_RIPPLE
    setter_limit = IOU(limit, currency, setter)
    peer_limit = IOU(Decimal(0), currency, peer)
    line: SLE = {
        "LedgerEntryType": LT_RIPPLE_STATE,
        "Flags": flags,
        "Balance": IOU(Decimal(0), currency, ACCOUNT_ONE),
        "LowLimit": peer_limit if high else setter_limit,
        "HighLimit": setter_limit if high else peer_limit,
        "LowNode": low_node,
        "HighNode": high_node,
    }
    if quality_in:
        line["HighQualityIn" if high else "LowQualityIn"] = quality_in
    if quality_out:
        line["HighQualityOut" if high else "LowQualityOut"] = quality_out
    view.insert(key, line)
    adjust_owner_count(view, setter, 1)


def trust_delete(view: TxView, key: bytes, line: SLE) -> None:
    low, high = line["LowLimit"].issuer, line["HighLimit"].issuer
    dir_remove(view, low, line.get("LowNode", 0), key)
    dir_remove(view, high, line.get("HighNode", 0), key)
    view.erase(key)


def ripple_credit(
    view: TxView, sender: bytes, receiver: bytes, currency: bytes, amount: Decimal
) -> None:
    """Move amount of sender->receiver credit along their direct line (rippleCredit).

    The line must exist. Clears the sender's reserve, and deletes the line, when
    the payment leaves the sender's side in its default state.
    """
    key = keylets.line(sender, receiver, currency)
    line = view.peek(key)
    assert line is not None
    sender_high = sender > receiver
    before = balance_for(line, sender)
    after = amounts.sub(before, amount)
    low_value = -after if sender_high else after
    line["Balance"] = IOU(low_value, currency, ACCOUNT_ONE)
    if _clears_sender_reserve(view, line, sender, sender_high, before, after):
        adjust_owner_count(view, sender, -1)
        line["Flags"] &= ~(LSF_HIGH_RESERVE if sender_high else LSF_LOW_RESERVE)
        receiver_reserve = LSF_LOW_RESERVE if sender_high else LSF_HIGH_RESERVE
        if after == 0 and not line["Flags"] & receiver_reserve:
            trust_delete(view, key, line)
            return
    view.update(key, line)


def _clears_sender_reserve(
    view: TxView, line: SLE, sender: bytes, high: bool, before: Decimal, after: Decimal
) -> bool:
    flags = line["Flags"]
    sender_sle = account_sle(view, sender)
    assert sender_sle is not None
    no_ripple = bool(flags & (LSF_HIGH_NO_RIPPLE if high else LSF_LOW_NO_RIPPLE))
    default_ripple = bool(sender_sle["Flags"] & LSF_DEFAULT_RIPPLE)
    prefix = "High" if high else "Low"
    return (
        before > 0
        and after <= 0
        and bool(flags & (LSF_HIGH_RESERVE if high else LSF_LOW_RESERVE))
        and no_ripple != default_ripple
        and not flags & (LSF_HIGH_FREEZE if high else LSF_LOW_FREEZE)
        and line[f"{prefix}Limit"].value == 0
        and not line.get(f"{prefix}QualityIn", 0)
        and not line.get(f"{prefix}QualityOut", 0)
    )

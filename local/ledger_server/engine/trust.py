"""TrustSet (SetTrust.cpp) and Clawback (Clawback.cpp) for IOUs and MPTs."""

from __future__ import annotations

from decimal import Decimal

from local.ledger_server import keylets
from local.ledger_server.amounts import IOU, MAX_MPT, MPT, XRP_CURRENCY
from local.ledger_server.engine import lines, mptokens
from local.ledger_server.engine.core import Ctx, TxHandler
from local.ledger_server.engine.lines import (
    LSF_HIGH_AUTH,
    LSF_HIGH_DEEP_FREEZE,
    LSF_HIGH_FREEZE,
    LSF_HIGH_NO_RIPPLE,
    LSF_HIGH_RESERVE,
    LSF_LOW_AUTH,
    LSF_LOW_DEEP_FREEZE,
    LSF_LOW_FREEZE,
    LSF_LOW_NO_RIPPLE,
    LSF_LOW_RESERVE,
)
from local.ledger_server.tx import Tx
from local.ledger_server.view import SLE, TxView

TF_SETF_AUTH = 0x00010000
TF_SET_NO_RIPPLE = 0x00020000
TF_CLEAR_NO_RIPPLE = 0x00040000
TF_SET_FREEZE = 0x00100000
TF_CLEAR_FREEZE = 0x00200000
TF_SET_DEEP_FREEZE = 0x00400000
TF_CLEAR_DEEP_FREEZE = 0x00800000
TRUST_SET_TF = (
    TF_SETF_AUTH
    | TF_SET_NO_RIPPLE
    | TF_CLEAR_NO_RIPPLE
    | TF_SET_FREEZE
    | TF_CLEAR_FREEZE
    | TF_SET_DEEP_FREEZE
    | TF_CLEAR_DEEP_FREEZE
)
QUALITY_ONE = 1_000_000_000


def _freeze_flags(flags: int, high: bool, no_freeze: bool, tx_flags: int) -> int:
    """computeFreezeFlags from SetTrust.cpp."""
    set_f, clear_f = bool(tx_flags & TF_SET_FREEZE), bool(tx_flags & TF_CLEAR_FREEZE)
    set_d, clear_d = bool(tx_flags & TF_SET_DEEP_FREEZE), bool(tx_flags & TF_CLEAR_DEEP_FREEZE)
    freeze = LSF_HIGH_FREEZE if high else LSF_LOW_FREEZE
    deep = LSF_HIGH_DEEP_FREEZE if high else LSF_LOW_DEEP_FREEZE
    if set_f and not clear_f and not no_freeze:
        flags |= freeze
    elif clear_f and not set_f:
        flags &= ~freeze
    if set_d and not clear_d and not no_freeze:
        flags |= deep
    elif clear_d and not set_d:
        flags &= ~deep
    return flags


def trust_preflight(tx: Tx) -> str:
    limit = tx.get("LimitAmount")
    if limit is None or isinstance(limit, int):
        return "temBAD_LIMIT"
    if isinstance(limit, MPT):
        return "temBAD_AMOUNT"
    if limit.currency == XRP_CURRENCY:
        return "temBAD_CURRENCY"
    if limit.value < 0:
        return "temBAD_LIMIT"
    if not any(limit.issuer) or limit.issuer == b"\x00" * 19 + b"\x01":
        return "temDST_NEEDED"
    return "tesSUCCESS"


def trust_preclaim(tx: Tx, view: TxView) -> str:
    sle = view.read(keylets.account(tx.account))
    assert sle is not None
    flags = tx.flags
    if flags & TF_SETF_AUTH and not sle["Flags"] & lines.LSF_REQUIRE_AUTH:
        return "tefNO_AUTH_REQUIRED"
    limit: IOU = tx.get("LimitAmount")
    peer = limit.issuer
    if peer == tx.account:
        return "temDST_IS_SRC"
    peer_sle = view.read(keylets.account(peer))
    if peer_sle is None:
        return "tecNO_DST"
    line_key = keylets.line(tx.account, peer, limit.currency)
    if peer_sle["Flags"] & lines.LSF_DISALLOW_INCOMING_TRUSTLINE and view.read(line_key) is None:
        return "tecNO_PERMISSION"  # fixDisallowIncomingV1: an existing line may still change
    no_freeze = bool(sle["Flags"] & lines.LSF_NO_FREEZE)
    setting = bool(flags & (TF_SET_FREEZE | TF_SET_DEEP_FREEZE))
    clearing = bool(flags & (TF_CLEAR_FREEZE | TF_CLEAR_DEEP_FREEZE))
    if no_freeze and setting:
        return "tecNO_PERMISSION"
    if setting and clearing:
        return "tecNO_PERMISSION"
    high = tx.account > peer
    line = view.read(line_key)
    new_flags = _freeze_flags(line["Flags"] if line else 0, high, no_freeze, flags)
    frozen = new_flags & (LSF_HIGH_FREEZE if high else LSF_LOW_FREEZE)
    deep = new_flags & (LSF_HIGH_DEEP_FREEZE if high else LSF_LOW_DEEP_FREEZE)
    if deep and not frozen:
        return "tecNO_PERMISSION"
    return "tesSUCCESS"


def trust_apply(ctx: Ctx) -> str:
    tx, view = ctx.tx, ctx.view
    limit: IOU = tx.get("LimitAmount")
    peer, currency = limit.issuer, limit.currency
    acct = view.read(keylets.account(ctx.account))
    assert acct is not None
    owners = acct["OwnerCount"]
    reserve_create = 0 if owners < 2 else view.fees.reserve(owners + 1)
    quality_in = tx.get("QualityIn", 0)
    quality_out = tx.get("QualityOut", 0)
    if quality_out == QUALITY_ONE:
        quality_out = 0
    if view.read(keylets.account(peer)) is None:
        return "tecNO_DST"
    key = keylets.line(ctx.account, peer, currency)
    line = view.peek(key)
    if line is not None:
        return _modify_line(ctx, key, line, reserve_create)
    flags = tx.flags
    if limit.value == 0 and not quality_in and not quality_out and not flags & TF_SETF_AUTH:
        return "tecNO_LINE_REDUNDANT"
    if ctx.prior_balance < reserve_create:
        return "tecNO_LINE_INSUF_RESERVE"
    lines.trust_create(
        view,
        ctx.account,
        peer,
        currency,
        limit.value,
        auth=bool(flags & TF_SETF_AUTH),
        no_ripple=bool(flags & TF_SET_NO_RIPPLE) and not flags & TF_CLEAR_NO_RIPPLE,
        freeze=bool(flags & TF_SET_FREEZE) and not flags & TF_CLEAR_FREEZE,
        deep_freeze=bool(flags & TF_SET_DEEP_FREEZE),
        quality_in=quality_in,  # trustCreate stores QUALITY_ONE as given
        quality_out=quality_out,
    )
    return "tesSUCCESS"


def _set_quality(line: SLE, field: str, present: bool, value: int) -> int:
    if not present:
        return int(line.get(field, 0))
    if value:
        line[field] = value
        return value
    line.pop(field, None)
    return 0


def _modify_line(ctx: Ctx, key: bytes, line: SLE, reserve_create: int) -> str:
    tx, view = ctx.tx, ctx.view
    limit: IOU = tx.get("LimitAmount")
    peer = limit.issuer
    high = ctx.account > peer
    side, other = ("High", "Low") if high else ("Low", "High")
    line[f"{side}Limit"] = IOU(limit.value, limit.currency, ctx.account)
    qualities = {}
    for name in ("QualityIn", "QualityOut"):
        value = tx.get(name, 0)
        if name == "QualityOut" and value == QUALITY_ONE:
            value = 0
        qualities[f"{side}{name}"] = _set_quality(line, f"{side}{name}", tx.has(name), value)
        qualities[f"{other}{name}"] = int(line.get(f"{other}{name}", 0))
    qualities = {k: (0 if v == QUALITY_ONE else v) for k, v in qualities.items()}
    flags_in = line["Flags"]
    flags_out = flags_in
    own_balance = lines.balance_for(line, ctx.account)
    tx_flags = tx.flags
    if tx_flags & TF_SET_NO_RIPPLE and not tx_flags & TF_CLEAR_NO_RIPPLE:
        if own_balance < 0:
            return "tecNO_PERMISSION"
        flags_out |= LSF_HIGH_NO_RIPPLE if high else LSF_LOW_NO_RIPPLE
    elif tx_flags & TF_CLEAR_NO_RIPPLE and not tx_flags & TF_SET_NO_RIPPLE:
        flags_out &= ~(LSF_HIGH_NO_RIPPLE if high else LSF_LOW_NO_RIPPLE)
    acct = view.read(keylets.account(ctx.account))
    assert acct is not None
    flags_out = _freeze_flags(flags_out, high, bool(acct["Flags"] & lines.LSF_NO_FREEZE), tx_flags)
    if tx_flags & TF_SETF_AUTH:
        flags_out |= LSF_HIGH_AUTH if high else LSF_LOW_AUTH
    low_acct = line["LowLimit"].issuer
    high_acct = line["HighLimit"].issuer
    low_set = _reserve_needed(view, line, "Low", low_acct, flags_out, qualities)
    high_set = _reserve_needed(view, line, "High", high_acct, flags_out, qualities)
    reserve_increase = False
    for needed, flag, account, own in (
        (low_set, LSF_LOW_RESERVE, low_acct, not high),
        (high_set, LSF_HIGH_RESERVE, high_acct, high),
    ):
        if needed and not flags_in & flag:
            lines.adjust_owner_count(view, account, 1)
            flags_out |= flag
            reserve_increase = reserve_increase or own
        elif not needed and flags_in & flag:
            lines.adjust_owner_count(view, account, -1)
            flags_out &= ~flag
    line["Flags"] = flags_out
    if not low_set and not high_set:
        lines.trust_delete(view, key, line)
        return "tesSUCCESS"
    if reserve_increase and ctx.prior_balance < reserve_create:
        return "tecINSUF_RESERVE_LINE"
    view.update(key, line)
    return "tesSUCCESS"


def _reserve_needed(
    view: TxView, line: SLE, side: str, account: bytes, flags: int, qualities: dict[str, int]
) -> bool:
    """Whether this side of the line is in a non-default state (bLowReserveSet & co)."""
    acct = view.read(keylets.account(account))
    assert acct is not None
    default_ripple = bool(acct["Flags"] & lines.LSF_DEFAULT_RIPPLE)
    no_ripple = LSF_LOW_NO_RIPPLE if side == "Low" else LSF_HIGH_NO_RIPPLE
    freeze = LSF_LOW_FREEZE if side == "Low" else LSF_HIGH_FREEZE
    return bool(
        qualities[f"{side}QualityIn"]
        or qualities[f"{side}QualityOut"]
        or ((flags & no_ripple) == 0) != default_ripple
        or flags & freeze
        or line[f"{side}Limit"].value != 0
        or lines.balance_for(line, account) > 0
    )


# --- Clawback ---------------------------------------------------------------


def clawback_preflight(tx: Tx) -> str:
    amount = tx.get("Amount")
    holder = tx.get("Holder")
    if isinstance(amount, MPT):
        if holder is None or holder == tx.account:
            return "temMALFORMED"
        if not 0 < amount.value <= MAX_MPT:
            return "temBAD_AMOUNT"
        return "tesSUCCESS"
    if holder is not None:
        return "temMALFORMED"
    if not isinstance(amount, IOU) or amount.issuer == tx.account or amount.value <= 0:
        return "temBAD_AMOUNT"
    return "tesSUCCESS"


def clawback_preclaim(tx: Tx, view: TxView) -> str:
    amount = tx.get("Amount")
    if isinstance(amount, MPT):
        return _mpt_clawback_preclaim(tx, view, amount)
    issuer, holder = tx.account, amount.issuer
    if view.read(keylets.account(holder)) is None:
        return "terNO_ACCOUNT"
    issuer_sle = view.read(keylets.account(issuer))
    assert issuer_sle is not None
    flags = issuer_sle["Flags"]
    if not flags & lines.LSF_ALLOW_TRUSTLINE_CLAWBACK or flags & lines.LSF_NO_FREEZE:
        return "tecNO_PERMISSION"
    line = view.read(keylets.line(holder, issuer, amount.currency))
    if line is None:
        return "tecNO_LINE"
    balance = line["Balance"].value
    if (balance > 0 and issuer < holder) or (balance < 0 and issuer > holder):
        return "tecNO_PERMISSION"
    if lines.account_holds(view, holder, amount.currency, issuer, ignore_freeze=True) <= 0:
        return "tecINSUFFICIENT_FUNDS"
    return "tesSUCCESS"


def _mpt_clawback_preclaim(tx: Tx, view: TxView, amount: MPT) -> str:
    holder = tx.get("Holder")
    if view.read(keylets.account(holder)) is None:
        return "terNO_ACCOUNT"
    issuance = view.read(keylets.mpt_issuance(amount.mpt_id))
    if issuance is None:
        return "tecOBJECT_NOT_FOUND"
    if not issuance["Flags"] & mptokens.LSF_MPT_CAN_CLAWBACK:
        return "tecNO_PERMISSION"
    if issuance["Issuer"] != tx.account:
        return "tecNO_PERMISSION"
    if view.read(keylets.mptoken(amount.mpt_id, holder)) is None:
        return "tecOBJECT_NOT_FOUND"
    if mptokens.holder_balance(view, amount.mpt_id, holder) <= 0:
        return "tecINSUFFICIENT_FUNDS"
    return "tesSUCCESS"


def clawback_apply(ctx: Ctx) -> str:
    amount = ctx.tx.get("Amount")
    view = ctx.view
    if isinstance(amount, MPT):
        holder = ctx.tx.get("Holder")
        units = min(amount.value, mptokens.holder_balance(view, amount.mpt_id, holder))
        return mptokens.send(view, holder, ctx.account, amount.mpt_id, units, units)
    holder = amount.issuer
    held = lines.account_holds(view, holder, amount.currency, ctx.account, ignore_freeze=True)
    clawed: Decimal = min(amount.value, held)
    lines.ripple_credit(view, holder, ctx.account, amount.currency, clawed)
    return "tesSUCCESS"


TRUST_SET = TxHandler(TRUST_SET_TF, trust_preflight, trust_preclaim, trust_apply)
CLAWBACK = TxHandler(0, clawback_preflight, clawback_preclaim, clawback_apply)

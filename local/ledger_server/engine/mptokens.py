"""Multi-Purpose Tokens (XLS-33): issuance create/set/destroy, authorize, transfers."""

from __future__ import annotations

from local.ledger_server import keylets
from local.ledger_server.amounts import MAX_MPT
from local.ledger_server.engine.core import Ctx, TxHandler, ok
from local.ledger_server.tx import Tx
from local.ledger_server.view import (
    LT_MPT_ISSUANCE,
    LT_MPTOKEN,
    SLE,
    TxView,
    adjust_owner_count,
    dir_add,
    dir_remove,
)

LSF_MPT_LOCKED = 0x01
LSF_MPT_CAN_LOCK = 0x02
LSF_MPT_REQUIRE_AUTH = 0x04
LSF_MPT_CAN_ESCROW = 0x08
LSF_MPT_CAN_TRADE = 0x10
LSF_MPT_CAN_TRANSFER = 0x20
LSF_MPT_CAN_CLAWBACK = 0x40
LSF_MPT_AUTHORIZED = 0x02

TF_MPT_UNAUTHORIZE = 0x01
TF_MPT_LOCK = 0x01
TF_MPT_UNLOCK = 0x02
CREATE_FLAGS = 0x02 | 0x04 | 0x08 | 0x10 | 0x20 | 0x40
MAX_TRANSFER_FEE = 50_000
MAX_METADATA = 1024


# --- shared helpers ---------------------------------------------------------


def require_auth(view: TxView, mpt_id: bytes, account: bytes) -> str:
    issuance = view.read(keylets.mpt_issuance(mpt_id))
    if issuance is None:
        return "tecOBJECT_NOT_FOUND"
    if issuance["Issuer"] == account:
        return "tesSUCCESS"
    token = view.read(keylets.mptoken(mpt_id, account))
    if token is None:
        return "tecNO_AUTH"
    if issuance["Flags"] & LSF_MPT_REQUIRE_AUTH and not token["Flags"] & LSF_MPT_AUTHORIZED:
        return "tecNO_AUTH"
    return "tesSUCCESS"


def is_locked(view: TxView, mpt_id: bytes, account: bytes) -> bool:
    issuance = view.read(keylets.mpt_issuance(mpt_id))
    if issuance is not None and issuance["Flags"] & LSF_MPT_LOCKED:
        return True
    token = view.read(keylets.mptoken(mpt_id, account))
    return bool(token is not None and token["Flags"] & LSF_MPT_LOCKED)


def _credit_issuer(view: TxView, mpt_id: bytes, delta: int) -> None:
    key = keylets.mpt_issuance(mpt_id)
    issuance = view.peek(key)
    assert issuance is not None
    issuance["OutstandingAmount"] += delta
    view.update(key, issuance)


def _move_holder(view: TxView, mpt_id: bytes, holder: bytes, delta: int) -> str:
    key = keylets.mptoken(mpt_id, holder)
    token = view.peek(key)
    if token is None:
        return "tecNO_AUTH"
    balance = token.get("MPTAmount", 0) + delta
    if balance < 0:
        return "tecINSUFFICIENT_FUNDS"
    if balance:
        token["MPTAmount"] = balance
    else:
        token.pop("MPTAmount", None)  # soeDEFAULT: zero is stored as absent
    view.update(key, token)
    return "tesSUCCESS"


def send(view: TxView, src: bytes, dst: bytes, mpt_id: bytes, deliver: int, source: int) -> str:
    """rippleSendMPT: issue, redeem, or holder to holder (fee burned from outstanding)."""
    issuance = view.read(keylets.mpt_issuance(mpt_id))
    if issuance is None:
        return "tecOBJECT_NOT_FOUND"
    issuer = issuance["Issuer"]
    if src == issuer:
        maximum = issuance.get("MaximumAmount", MAX_MPT)
        if deliver > maximum or issuance["OutstandingAmount"] > maximum - deliver:
            return "tecPATH_DRY"
        result = _move_holder(view, mpt_id, dst, deliver)
        if result == "tesSUCCESS":
            _credit_issuer(view, mpt_id, deliver)
        return result
    result = _move_holder(view, mpt_id, src, -source)
    if result != "tesSUCCESS":
        return result
    if dst == issuer:
        _credit_issuer(view, mpt_id, -source)
        return "tesSUCCESS"
    result = _move_holder(view, mpt_id, dst, deliver)
    if result == "tesSUCCESS" and source != deliver:
        _credit_issuer(view, mpt_id, deliver - source)
    return result


def holder_balance(view: TxView, mpt_id: bytes, holder: bytes) -> int:
    token = view.read(keylets.mptoken(mpt_id, holder))
    return int(token.get("MPTAmount", 0)) if token else 0


# --- MPTokenIssuanceCreate --------------------------------------------------


def create_preflight(tx: Tx) -> str:
    fee = tx.get("TransferFee")
    if fee is not None:
        if fee > MAX_TRANSFER_FEE:
            return "temBAD_TRANSFER_FEE"
        if fee and not tx.flags & LSF_MPT_CAN_TRANSFER:
            return "temMALFORMED"
    metadata = tx.get("MPTokenMetadata")
    if metadata is not None and not 0 < len(metadata) <= MAX_METADATA:
        return "temMALFORMED"
    maximum = tx.get("MaximumAmount")
    if maximum is not None and not 0 < maximum <= MAX_MPT:
        return "temMALFORMED"
    return "tesSUCCESS"


def create_apply(ctx: Ctx) -> str:
    view, tx = ctx.view, ctx.tx
    acct = view.read(keylets.account(ctx.account))
    assert acct is not None
    if ctx.prior_balance < view.fees.reserve(acct["OwnerCount"] + 1):
        return "tecINSUFFICIENT_RESERVE"
    seq = tx.ticket if tx.uses_ticket else tx.sequence
    assert seq is not None
    mpt_id = keylets.mpt_id(seq, ctx.account)
    key = keylets.mpt_issuance(mpt_id)
    issuance: SLE = {
        "LedgerEntryType": LT_MPT_ISSUANCE,
        "Flags": tx.flags & CREATE_FLAGS,
        "Issuer": ctx.account,
        "Sequence": seq,
        "OutstandingAmount": 0,
        "OwnerNode": dir_add(view, ctx.account, key),
    }
    for name in ("MaximumAmount", "AssetScale", "TransferFee", "MPTokenMetadata"):
        if tx.has(name) and (name not in ("AssetScale", "TransferFee") or tx.get(name)):
            issuance[name] = tx.get(name)
    view.insert(key, issuance)
    adjust_owner_count(view, ctx.account, 1)
    ctx.extra_meta["mpt_issuance_id"] = mpt_id
    return "tesSUCCESS"


# --- MPTokenIssuanceSet -----------------------------------------------------


def set_preflight(tx: Tx) -> str:
    if tx.flags & TF_MPT_LOCK and tx.flags & TF_MPT_UNLOCK:
        return "temINVALID_FLAG"
    if tx.get("Holder") == tx.account:
        return "temMALFORMED"
    return "tesSUCCESS"


def set_preclaim(tx: Tx, view: TxView) -> str:
    issuance = view.read(keylets.mpt_issuance(tx.get("MPTokenIssuanceID")))
    if issuance is None:
        return "tecOBJECT_NOT_FOUND"
    if not issuance["Flags"] & LSF_MPT_CAN_LOCK:
        return "tecNO_PERMISSION"
    if issuance["Issuer"] != tx.account:
        return "tecNO_PERMISSION"
    holder = tx.get("Holder")
    if holder is not None:
        if view.read(keylets.account(holder)) is None:
            return "tecNO_DST"
        if view.read(keylets.mptoken(tx.get("MPTokenIssuanceID"), holder)) is None:
            return "tecOBJECT_NOT_FOUND"
    return "tesSUCCESS"


def set_apply(ctx: Ctx) -> str:
    tx, view = ctx.tx, ctx.view
    mpt_id = tx.get("MPTokenIssuanceID")
    holder = tx.get("Holder")
    key = keylets.mptoken(mpt_id, holder) if holder else keylets.mpt_issuance(mpt_id)
    sle = view.peek(key)
    assert sle is not None
    if tx.flags & TF_MPT_LOCK:
        sle["Flags"] |= LSF_MPT_LOCKED
    elif tx.flags & TF_MPT_UNLOCK:
        sle["Flags"] &= ~LSF_MPT_LOCKED
    view.update(key, sle)
    return "tesSUCCESS"


# --- MPTokenIssuanceDestroy -------------------------------------------------


def destroy_preclaim(tx: Tx, view: TxView) -> str:
    issuance = view.read(keylets.mpt_issuance(tx.get("MPTokenIssuanceID")))
    if issuance is None:
        return "tecOBJECT_NOT_FOUND"
    if issuance["Issuer"] != tx.account:
        return "tecNO_PERMISSION"
    if issuance["OutstandingAmount"] != 0 or issuance.get("LockedAmount", 0):
        return "tecHAS_OBLIGATIONS"
    return "tesSUCCESS"


def destroy_apply(ctx: Ctx) -> str:
    view = ctx.view
    key = keylets.mpt_issuance(ctx.tx.get("MPTokenIssuanceID"))
    issuance = view.read(key)
    assert issuance is not None
    dir_remove(view, ctx.account, issuance["OwnerNode"], key)
    view.erase(key)
    adjust_owner_count(view, ctx.account, -1)
    return "tesSUCCESS"


# --- MPTokenAuthorize -------------------------------------------------------


def authorize_preflight(tx: Tx) -> str:
    return "temMALFORMED" if tx.get("Holder") == tx.account else "tesSUCCESS"


def authorize_preclaim(tx: Tx, view: TxView) -> str:
    mpt_id = tx.get("MPTokenIssuanceID")
    holder = tx.get("Holder")
    if holder is None:
        token = view.read(keylets.mptoken(mpt_id, tx.account))
        if tx.flags & TF_MPT_UNAUTHORIZE:
            if token is None:
                return "tecOBJECT_NOT_FOUND"
            return "tecHAS_OBLIGATIONS" if token.get("MPTAmount", 0) else "tesSUCCESS"
        issuance = view.read(keylets.mpt_issuance(mpt_id))
        if issuance is None:
            return "tecOBJECT_NOT_FOUND"
        if issuance["Issuer"] == tx.account:
            return "tecNO_PERMISSION"
        return "tecDUPLICATE" if token is not None else "tesSUCCESS"
    if view.read(keylets.account(holder)) is None:
        return "tecNO_DST"
    issuance = view.read(keylets.mpt_issuance(mpt_id))
    if issuance is None:
        return "tecOBJECT_NOT_FOUND"
    if issuance["Issuer"] != tx.account:
        return "tecNO_PERMISSION"
    if not issuance["Flags"] & LSF_MPT_REQUIRE_AUTH:
        return "tecNO_AUTH"
    if view.read(keylets.mptoken(mpt_id, holder)) is None:
        return "tecOBJECT_NOT_FOUND"
    return "tesSUCCESS"


def authorize_apply(ctx: Ctx) -> str:
    tx, view = ctx.tx, ctx.view
    mpt_id, holder = tx.get("MPTokenIssuanceID"), tx.get("Holder")
    if holder is not None:
        key = keylets.mptoken(mpt_id, holder)
        token = view.peek(key)
        assert token is not None
        if tx.flags & TF_MPT_UNAUTHORIZE:
            token["Flags"] &= ~LSF_MPT_AUTHORIZED
        else:
            token["Flags"] |= LSF_MPT_AUTHORIZED
        view.update(key, token)
        return "tesSUCCESS"
    key = keylets.mptoken(mpt_id, ctx.account)
    if tx.flags & TF_MPT_UNAUTHORIZE:
        token = view.read(key)
        assert token is not None
        dir_remove(view, ctx.account, token["OwnerNode"], key)
        view.erase(key)
        adjust_owner_count(view, ctx.account, -1)
        return "tesSUCCESS"
    acct = view.read(keylets.account(ctx.account))
    assert acct is not None
    owners = acct["OwnerCount"]
    if ctx.prior_balance < (0 if owners < 2 else view.fees.reserve(owners + 1)):
        return "tecINSUFFICIENT_RESERVE"
    token_sle: SLE = {
        "LedgerEntryType": LT_MPTOKEN,
        "Flags": 0,
        "Account": ctx.account,
        "MPTokenIssuanceID": mpt_id,
        "OwnerNode": dir_add(view, ctx.account, key),
    }
    view.insert(key, token_sle)
    adjust_owner_count(view, ctx.account, 1)
    return "tesSUCCESS"


CREATE = TxHandler(CREATE_FLAGS, create_preflight, ok, create_apply)
SET = TxHandler(TF_MPT_LOCK | TF_MPT_UNLOCK, set_preflight, set_preclaim, set_apply)
DESTROY = TxHandler(0, ok, destroy_preclaim, destroy_apply)
AUTHORIZE = TxHandler(TF_MPT_UNAUTHORIZE, authorize_preflight, authorize_preclaim, authorize_apply)

"""Payment: XRP (incl. account creation), IOU direct issue/redeem/ripple, MPT direct.

IOU liquidity follows rippled's default-path strands through the issuer
(DirectStepI checks: freeze, no-ripple, auth, limits, transfer rate). There is
no order book here, so cross-currency payments find no liquidity.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from local.ledger_server import amounts, keylets
from local.ledger_server.amounts import IOU, MAX_MPT, MPT, XRP_CURRENCY
from local.ledger_server.engine import lines, mptokens
from local.ledger_server.engine.core import Ctx, TxHandler
from local.ledger_server.tx import Tx
from local.ledger_server.view import LT_ACCOUNT_ROOT, TxView

TF_NO_RIPPLE_DIRECT = 0x00010000
TF_PARTIAL_PAYMENT = 0x00020000
TF_LIMIT_QUALITY = 0x00040000
LSF_REQUIRE_DEST_TAG = 0x00020000
LSF_PASSWORD_SPENT = 0x00010000
QUALITY_ONE = 1_000_000_000


class _Fail(Exception):
    def __init__(self, result: str) -> None:
        super().__init__(result)
        self.result = result


def _same_asset(a: Any, b: Any) -> bool:
    if isinstance(a, int) or isinstance(b, int):
        return isinstance(a, int) and isinstance(b, int)
    if isinstance(a, MPT) or isinstance(b, MPT):
        return isinstance(a, MPT) and isinstance(b, MPT) and a.mpt_id == b.mpt_id
    return bool(a.currency == b.currency)


def _positive(amount: Any) -> bool:
    return bool(amount > 0) if isinstance(amount, int) else bool(amount.value > 0)


def preflight(tx: Tx) -> str:
    amount, send_max, deliver_min = tx.get("Amount"), tx.get("SendMax"), tx.get("DeliverMin")
    dst = tx.get("Destination")
    if amount is None:
        return "temBAD_AMOUNT"
    mpt_direct = isinstance(amount, MPT)
    if mpt_direct and tx.flags & (TF_NO_RIPPLE_DIRECT | TF_LIMIT_QUALITY):
        return "temINVALID_FLAG"  # getFlagsMask: tfMPTPaymentMask
    if send_max is not None and (
        (mpt_direct and not _same_asset(send_max, amount))
        or (not mpt_direct and isinstance(send_max, MPT))
    ):
        return "temMALFORMED"  # inconsistent issues
    if dst is None:
        return "temDST_NEEDED"
    partial = bool(tx.flags & TF_PARTIAL_PAYMENT)
    for value in (amount, send_max):
        if value is not None and (not _positive(value) or _bad_magnitude(value)):
            return "temBAD_AMOUNT"
    for value in (amount, send_max):
        if isinstance(value, IOU) and value.currency == XRP_CURRENCY:
            return "temBAD_CURRENCY"
    if isinstance(amount, MPT) and tx.has("Paths"):
        return "temMALFORMED"
    xrp_direct = isinstance(amount, int) and (send_max is None or isinstance(send_max, int))
    if (
        dst == tx.account
        and (send_max is None or _same_asset(send_max, amount))
        and not tx.has("Paths")
    ):
        return "temREDUNDANT"
    if xrp_direct:
        result = _xrp_direct_flags(tx, send_max, partial)
        if result != "tesSUCCESS":
            return result
    if deliver_min is not None:
        if not partial:
            return "temBAD_AMOUNT"
        if not _positive(deliver_min) or not _same_asset(deliver_min, amount):
            return "temBAD_AMOUNT"
        if _value(deliver_min) > _value(amount):
            return "temBAD_AMOUNT"
    return "tesSUCCESS"


def _bad_magnitude(value: Any) -> bool:
    if isinstance(value, int):
        return not amounts.is_legal_xrp(value)
    if isinstance(value, MPT):
        return value.value > MAX_MPT
    return False


def _xrp_direct_flags(tx: Tx, send_max: Any, partial: bool) -> str:
    if send_max is not None:
        return "temBAD_SEND_XRP_MAX"
    if tx.has("Paths"):
        return "temBAD_SEND_XRP_PATHS"
    if partial:
        return "temBAD_SEND_XRP_PARTIAL"
    if tx.flags & TF_LIMIT_QUALITY:
        return "temBAD_SEND_XRP_LIMIT"
    if tx.flags & TF_NO_RIPPLE_DIRECT:
        return "temBAD_SEND_XRP_NO_DIRECT"
    return "tesSUCCESS"


def _value(amount: Any) -> Any:
    return amount if isinstance(amount, int) else amount.value


def preclaim(tx: Tx, view: TxView) -> str:
    amount = tx.get("Amount")
    dst_sle = view.read(keylets.account(tx.get("Destination")))
    if dst_sle is None:
        if not isinstance(amount, int):
            return "tecNO_DST"
        if view.base.is_open and tx.flags & TF_PARTIAL_PAYMENT:
            return "telNO_DST_PARTIAL"
        if amount < view.fees.reserve(0):
            return "tecNO_DST_INSUF_XRP"
    elif dst_sle["Flags"] & LSF_REQUIRE_DEST_TAG and not tx.has("DestinationTag"):
        return "tecDST_TAG_NEEDED"
    return "tesSUCCESS"


def do_apply(ctx: Ctx) -> str:
    amount = ctx.tx.get("Amount")
    send_max = ctx.tx.get("SendMax")
    try:
        if isinstance(amount, MPT):
            return _apply_mpt(ctx, amount)
        if isinstance(amount, int) and (send_max is None or isinstance(send_max, int)):
            return _apply_xrp(ctx, amount)
        if isinstance(amount, IOU):
            return _apply_iou(ctx, amount)
        return "tecPATH_DRY"  # XRP bought with an IOU would need an order book
    except _Fail as fail:
        return fail.result


# --- XRP --------------------------------------------------------------------


def _apply_xrp(ctx: Ctx, amount: int) -> str:
    view, dst = ctx.view, ctx.tx.get("Destination")
    dst_key = keylets.account(dst)
    dst_sle = view.peek(dst_key)
    if dst_sle is None:
        dst_sle = {
            "LedgerEntryType": LT_ACCOUNT_ROOT,
            "Flags": 0,
            "Account": dst,
            "Sequence": view.seq,
            "Balance": 0,
            "OwnerCount": 0,
        }
        created = True
    else:
        created = False
    src_key = keylets.account(ctx.account)
    src = view.peek(src_key)
    assert src is not None
    reserve = view.fees.reserve(src["OwnerCount"])
    fee = ctx.tx.fee
    assert isinstance(fee, int)
    if ctx.prior_balance < amount + max(reserve, fee):
        return "tecUNFUNDED_PAYMENT"
    if not created and _deposit_auth_blocks(view, dst_sle, ctx.account, amount):
        return "tecNO_PERMISSION"
    src["Balance"] -= amount
    dst_sle["Balance"] += amount
    if dst_sle["Flags"] & LSF_PASSWORD_SPENT:
        dst_sle["Flags"] &= ~LSF_PASSWORD_SPENT
    view.update(src_key, src)
    if created:
        view.insert(dst_key, dst_sle)
    else:
        view.update(dst_key, dst_sle)
    ctx.delivered = amount
    return "tesSUCCESS"


def _deposit_auth_blocks(view: TxView, dst_sle: dict[str, Any], src: bytes, amount: int) -> bool:
    """DepositAuth without preauthorization lets only small top-ups through (rippled)."""
    if not dst_sle["Flags"] & lines.LSF_DEPOSIT_AUTH or dst_sle["Account"] == src:
        return False
    floor = view.fees.reserve(0)
    return amount > floor or dst_sle["Balance"] > floor


# --- IOU --------------------------------------------------------------------


def _apply_iou(ctx: Ctx, amount: IOU) -> str:
    tx, view = ctx.tx, ctx.view
    src, dst = ctx.account, tx.get("Destination")
    send_max = tx.get("SendMax")
    if send_max is not None and (
        isinstance(send_max, (int, MPT)) or send_max.currency != amount.currency
    ):
        return "tecPATH_DRY"
    dst_sle = view.read(keylets.account(dst))
    assert dst_sle is not None
    if dst_sle["Flags"] & lines.LSF_DEPOSIT_AUTH and dst != src:
        return "tecNO_PERMISSION"
    issuer = amount.issuer
    steps = _strand(src, dst, issuer)
    result = _check_strand(view, steps, amount.currency)
    if result != "tesSUCCESS":
        return "tecPATH_DRY" if result.startswith("ter") else result
    rate = _transfer_rate(view, issuer) if len(steps) == 2 else Decimal(1)
    max_source = send_max.value if send_max is not None else amount.value
    deliverable = min(amount.value, amounts.div(max_source, rate))
    deliverable = min(deliverable, _capacity(view, steps[-1], amount.currency))
    if len(steps) == 2:
        deliverable = min(
            deliverable, amounts.div(_capacity(view, steps[0], amount.currency), rate)
        )
    return _settle_iou(ctx, steps, amount, deliverable, rate)


def _strand(src: bytes, dst: bytes, issuer: bytes) -> list[tuple[bytes, bytes]]:
    if src == issuer or dst == issuer:
        return [(src, dst)]
    return [(src, issuer), (issuer, dst)]


def _check_strand(view: TxView, steps: list[tuple[bytes, bytes]], currency: bytes) -> str:
    """DirectStepI::check for each step of the default path."""
    single = len(steps) == 1
    for index, (src, dst) in enumerate(steps):
        src_sle = view.read(keylets.account(src))
        if src_sle is None:
            return "terNO_ACCOUNT"
        if not single:
            result = _check_freeze(view, src, dst, currency)
            if result != "tesSUCCESS":
                return result
        if index > 0 and _no_ripple_blocks(view, steps[index - 1][0], src, dst, currency):
            return "terNO_RIPPLE"
        result = _check_line(view, src, dst, currency, src_sle)
        if result != "tesSUCCESS":
            return result
    return "tesSUCCESS"


def _check_freeze(view: TxView, src: bytes, dst: bytes, currency: bytes) -> str:
    dst_sle = view.read(keylets.account(dst))
    if dst_sle is not None and dst_sle["Flags"] & lines.LSF_GLOBAL_FREEZE:
        return "terNO_LINE"
    line = view.read(keylets.line(src, dst, currency))
    if line is not None:
        if line["Flags"] & lines.side_flag(dst, src, lines.LSF_LOW_FREEZE, lines.LSF_HIGH_FREEZE):
            return "terNO_LINE"
        if line["Flags"] & (lines.LSF_LOW_DEEP_FREEZE | lines.LSF_HIGH_DEEP_FREEZE):
            return "terNO_LINE"
    return "tesSUCCESS"


def _no_ripple_blocks(view: TxView, prev: bytes, cur: bytes, nxt: bytes, currency: bytes) -> bool:
    line_in = view.read(keylets.line(prev, cur, currency))
    line_out = view.read(keylets.line(cur, nxt, currency))
    if line_in is None or line_out is None:
        return False  # missing lines are reported by the line check
    nr_in = lines.side_flag(cur, prev, lines.LSF_LOW_NO_RIPPLE, lines.LSF_HIGH_NO_RIPPLE)
    nr_out = lines.side_flag(cur, nxt, lines.LSF_LOW_NO_RIPPLE, lines.LSF_HIGH_NO_RIPPLE)
    return bool(line_in["Flags"] & nr_in and line_out["Flags"] & nr_out)


def _check_line(
    view: TxView, src: bytes, dst: bytes, currency: bytes, src_sle: dict[str, Any]
) -> str:
    line = view.read(keylets.line(src, dst, currency))
    if line is None:
        return "terNO_LINE"
    auth = lines.side_flag(src, dst, lines.LSF_LOW_AUTH, lines.LSF_HIGH_AUTH)
    if (
        src_sle["Flags"] & lines.LSF_REQUIRE_AUTH
        and not line["Flags"] & auth
        and line["Balance"].value == 0
    ):
        return "terNO_AUTH"
    owed = lines.balance_for(line, src)  # creditBalance(dst, src): src's holding of dst's IOUs
    if owed <= 0 and -owed >= lines.limit_of(line, dst):
        return "tecPATH_DRY"
    return "tesSUCCESS"


def _capacity(view: TxView, step: tuple[bytes, bytes], currency: bytes) -> Decimal:
    """Most src can move to dst: redeem what dst owes src, then issue up to dst's limit."""
    src, dst = step
    line = view.read(keylets.line(src, dst, currency))
    assert line is not None
    src_balance = lines.balance_for(line, src)
    return max(Decimal(0), amounts.add(src_balance, lines.limit_of(line, dst)))


def _transfer_rate(view: TxView, issuer: bytes) -> Decimal:
    sle = view.read(keylets.account(issuer))
    rate = sle.get("TransferRate", 0) if sle else 0
    if not rate or rate == QUALITY_ONE:
        return Decimal(1)
    return Decimal(rate) / Decimal(QUALITY_ONE)


def _settle_iou(
    ctx: Ctx, steps: list[tuple[bytes, bytes]], amount: IOU, deliverable: Decimal, rate: Decimal
) -> str:
    tx = ctx.tx
    if deliverable <= 0:
        return "tecPATH_DRY"
    if deliverable < amount.value:
        if not tx.flags & TF_PARTIAL_PAYMENT:
            return "tecPATH_PARTIAL"
        deliver_min = tx.get("DeliverMin")
        if deliver_min is not None and deliverable < deliver_min.value:
            return "tecPATH_PARTIAL"
    view = ctx.view
    if len(steps) == 2:
        lines.ripple_credit(
            view, steps[0][0], steps[0][1], amount.currency, amounts.mul(deliverable, rate)
        )
    lines.ripple_credit(view, steps[-1][0], steps[-1][1], amount.currency, deliverable)
    ctx.delivered = IOU(deliverable, amount.currency, amount.issuer)
    if deliverable != amount.value:
        ctx.extra_meta["DeliveredAmount"] = ctx.delivered
    return "tesSUCCESS"


# --- MPT --------------------------------------------------------------------


def _apply_mpt(ctx: Ctx, amount: MPT) -> str:
    tx, view = ctx.tx, ctx.view
    src, dst = ctx.account, tx.get("Destination")
    send_max = tx.get("SendMax")
    if send_max is not None and not _same_asset(send_max, amount):
        return "tecPATH_DRY"
    issuance = view.read(keylets.mpt_issuance(amount.mpt_id))
    for account in (src, dst):
        result = mptokens.require_auth(view, amount.mpt_id, account)
        if result != "tesSUCCESS":
            return result
    assert issuance is not None
    issuer = issuance["Issuer"]
    if not issuance["Flags"] & mptokens.LSF_MPT_CAN_TRANSFER and src != issuer and dst != issuer:
        return "tecNO_AUTH"
    fee_units = 0
    if src != issuer and dst != issuer:
        if mptokens.is_locked(view, amount.mpt_id, src) or mptokens.is_locked(
            view, amount.mpt_id, dst
        ):
            return "tecLOCKED"
        fee_units = issuance.get("TransferFee", 0)
    deliver, source = amount.value, amounts_mpt_with_fee(amount.value, fee_units)
    max_source = send_max.value if send_max is not None else amount.value
    if tx.flags & TF_PARTIAL_PAYMENT and source > max_source:
        source = max_source
        deliver = max_source * 100_000 // (100_000 + fee_units)
    deliver_min = tx.get("DeliverMin")
    if source > max_source or (deliver_min is not None and deliver < deliver_min.value):
        return "tecPATH_PARTIAL"
    result = mptokens.send(view, src, dst, amount.mpt_id, deliver, source)
    if result in ("tecINSUFFICIENT_FUNDS", "tecPATH_DRY"):
        return "tecPATH_PARTIAL"
    if result == "tesSUCCESS":
        ctx.delivered = MPT(deliver, amount.mpt_id)
        if deliver != amount.value:
            ctx.extra_meta["DeliveredAmount"] = ctx.delivered
    return result


def amounts_mpt_with_fee(value: int, fee_units: int) -> int:
    """value * rate where rate = 1 + TransferFee/100000 (no rounding, as rippled)."""
    return value + value * fee_units // 100_000


HANDLER = TxHandler(
    TF_NO_RIPPLE_DIRECT | TF_PARTIAL_PAYMENT | TF_LIMIT_QUALITY, preflight, preclaim, do_apply
)

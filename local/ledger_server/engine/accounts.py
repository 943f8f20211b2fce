"""AccountSet and TicketCreate."""

from __future__ import annotations

from local.ledger_server import keylets
from local.ledger_server.crypto import account_id_from_pubkey
from local.ledger_server.engine import lines
from local.ledger_server.engine.core import Ctx, TxHandler, ok
from local.ledger_server.tx import Tx
from local.ledger_server.view import (
    LT_TICKET,
    SLE,
    TxView,
    adjust_owner_count,
    dir_add,
    dir_entries,
)

ASF_REQUIRE_DEST = 1
ASF_REQUIRE_AUTH = 2
ASF_DISALLOW_XRP = 3
ASF_DISABLE_MASTER = 4
ASF_ACCOUNT_TXN_ID = 5
ASF_NO_FREEZE = 6
ASF_GLOBAL_FREEZE = 7
ASF_DEFAULT_RIPPLE = 8
ASF_DEPOSIT_AUTH = 9
ASF_DISALLOW_INCOMING_NFTOKEN_OFFER = 12
ASF_DISALLOW_INCOMING_CHECK = 13
ASF_DISALLOW_INCOMING_PAYCHAN = 14
ASF_DISALLOW_INCOMING_TRUSTLINE = 15
ASF_ALLOW_TRUSTLINE_CLAWBACK = 16
ASF_ALLOW_TRUSTLINE_LOCKING = 17

TF_REQUIRE_DEST_TAG = 0x00010000
TF_OPTIONAL_DEST_TAG = 0x00020000
TF_REQUIRE_AUTH = 0x00040000
TF_OPTIONAL_AUTH = 0x00080000
TF_DISALLOW_XRP = 0x00100000
TF_ALLOW_XRP = 0x00200000
ACCOUNT_SET_TF = 0x003F0000

LSF_REQUIRE_DEST_TAG = 0x00020000
LSF_DISALLOW_XRP = 0x00080000
LSF_DISABLE_MASTER = 0x00100000

# asf flag -> AccountRoot flag for the simple set/clear cases.
_SIMPLE_FLAGS = {
    ASF_REQUIRE_DEST: LSF_REQUIRE_DEST_TAG,
    ASF_REQUIRE_AUTH: lines.LSF_REQUIRE_AUTH,
    ASF_DISALLOW_XRP: LSF_DISALLOW_XRP,
    ASF_DEFAULT_RIPPLE: lines.LSF_DEFAULT_RIPPLE,
    ASF_DEPOSIT_AUTH: lines.LSF_DEPOSIT_AUTH,
    # DisallowIncoming (enabled 2023) and TokenEscrow's AllowTrustLineLocking: set/clear freely.
    ASF_DISALLOW_INCOMING_NFTOKEN_OFFER: lines.LSF_DISALLOW_INCOMING_NFTOKEN_OFFER,
    ASF_DISALLOW_INCOMING_CHECK: lines.LSF_DISALLOW_INCOMING_CHECK,
    ASF_DISALLOW_INCOMING_PAYCHAN: lines.LSF_DISALLOW_INCOMING_PAYCHAN,
    ASF_DISALLOW_INCOMING_TRUSTLINE: lines.LSF_DISALLOW_INCOMING_TRUSTLINE,
    ASF_ALLOW_TRUSTLINE_LOCKING: lines.LSF_ALLOW_TRUSTLINE_LOCKING,
}
QUALITY_ONE = 1_000_000_000
MAX_TICKETS = 250


def _wants(tx: Tx, asf: int, tf_set: int, tf_clear: int) -> tuple[bool, bool]:
    set_flag, clear_flag = tx.get("SetFlag"), tx.get("ClearFlag")
    return (
        set_flag == asf or bool(tx.flags & tf_set),
        clear_flag == asf or bool(tx.flags & tf_clear),
    )


def account_set_preflight(tx: Tx) -> str:
    set_flag, clear_flag = tx.get("SetFlag"), tx.get("ClearFlag")
    if set_flag is not None and set_flag == clear_flag:
        return "temINVALID_FLAG"
    for asf, tf_set, tf_clear in (
        (ASF_REQUIRE_AUTH, TF_REQUIRE_AUTH, TF_OPTIONAL_AUTH),
        (ASF_REQUIRE_DEST, TF_REQUIRE_DEST_TAG, TF_OPTIONAL_DEST_TAG),
        (ASF_DISALLOW_XRP, TF_DISALLOW_XRP, TF_ALLOW_XRP),
    ):
        wants_set, wants_clear = _wants(tx, asf, tf_set, tf_clear)
        if wants_set and wants_clear:
            return "temINVALID_FLAG"
    rate = tx.get("TransferRate")
    if rate is not None and rate and (rate < QUALITY_ONE or rate > 2 * QUALITY_ONE):
        return "temBAD_TRANSFER_RATE"
    tick = tx.get("TickSize")
    if tick is not None and tick and not 3 <= tick <= 15:
        return "temBAD_TICK_SIZE"
    domain = tx.get("Domain")
    if domain is not None and len(domain) > 256:
        return "telBAD_DOMAIN"
    return "tesSUCCESS"


def account_set_preclaim(tx: Tx, view: TxView) -> str:
    sle = view.read(keylets.account(tx.account))
    assert sle is not None
    flags = sle["Flags"]
    owns_something = bool(dir_entries(view, tx.account))
    wants_auth, _ = _wants(tx, ASF_REQUIRE_AUTH, TF_REQUIRE_AUTH, TF_OPTIONAL_AUTH)
    if wants_auth and not flags & lines.LSF_REQUIRE_AUTH and owns_something:
        return "tecOWNERS"
    set_flag = tx.get("SetFlag")
    if set_flag == ASF_ALLOW_TRUSTLINE_CLAWBACK:
        if flags & lines.LSF_NO_FREEZE:
            return "tecNO_PERMISSION"
        if owns_something:
            return "tecOWNERS"
    elif set_flag == ASF_NO_FREEZE and flags & lines.LSF_ALLOW_TRUSTLINE_CLAWBACK:
        return "tecNO_PERMISSION"
    return "tesSUCCESS"


def account_set_apply(ctx: Ctx) -> str:
    tx, view = ctx.tx, ctx.view
    key = keylets.account(ctx.account)
    sle = view.peek(key)
    assert sle is not None
    set_flag, clear_flag = tx.get("SetFlag"), tx.get("ClearFlag")
    signed_with_master = account_id_from_pubkey(tx.get("SigningPubKey")) == ctx.account
    flags = sle["Flags"]
    for asf, lsf in _SIMPLE_FLAGS.items():
        tf_set, tf_clear = _TF_FOR.get(asf, (0, 0))
        wants_set, wants_clear = _wants(tx, asf, tf_set, tf_clear)
        if wants_set:
            flags |= lsf
        elif wants_clear:
            flags &= ~lsf
    if set_flag == ASF_DISABLE_MASTER and not flags & LSF_DISABLE_MASTER:
        if not signed_with_master:
            return "tecNEED_MASTER_KEY"
        if "RegularKey" not in sle:
            return "tecNO_ALTERNATIVE_KEY"
        flags |= LSF_DISABLE_MASTER
    if clear_flag == ASF_DISABLE_MASTER:
        flags &= ~LSF_DISABLE_MASTER
    if set_flag == ASF_NO_FREEZE:
        if not signed_with_master and not flags & LSF_DISABLE_MASTER:
            return "tecNEED_MASTER_KEY"
        flags |= lines.LSF_NO_FREEZE
    if set_flag == ASF_GLOBAL_FREEZE:
        flags |= lines.LSF_GLOBAL_FREEZE
    if clear_flag == ASF_GLOBAL_FREEZE and not flags & lines.LSF_NO_FREEZE:
        flags &= ~lines.LSF_GLOBAL_FREEZE  # silently kept once NoFreeze is set
    if set_flag == ASF_ALLOW_TRUSTLINE_CLAWBACK:
        flags |= lines.LSF_ALLOW_TRUSTLINE_CLAWBACK
    if set_flag == ASF_ACCOUNT_TXN_ID:
        sle["AccountTxnID"] = tx.hash
    elif clear_flag == ASF_ACCOUNT_TXN_ID:
        sle.pop("AccountTxnID", None)
    sle["Flags"] = flags
    _apply_optional_fields(tx, sle)
    view.update(key, sle)
    return "tesSUCCESS"


_TF_FOR = {
    ASF_REQUIRE_AUTH: (TF_REQUIRE_AUTH, TF_OPTIONAL_AUTH),
    ASF_REQUIRE_DEST: (TF_REQUIRE_DEST_TAG, TF_OPTIONAL_DEST_TAG),
    ASF_DISALLOW_XRP: (TF_DISALLOW_XRP, TF_ALLOW_XRP),
}


def _apply_optional_fields(tx: Tx, sle: SLE) -> None:
    rate = tx.get("TransferRate")
    if rate is not None:
        if rate in (0, QUALITY_ONE):
            sle.pop("TransferRate", None)
        else:
            sle["TransferRate"] = rate
    for name in ("Domain", "EmailHash", "MessageKey", "WalletLocator"):
        value = tx.get(name)
        if value is None:
            continue
        if any(value):
            sle[name] = value
        else:
            sle.pop(name, None)
    tick = tx.get("TickSize")
    if tick is not None:
        if tick in (0, 15):
            sle.pop("TickSize", None)
        else:
            sle["TickSize"] = tick


# --- TicketCreate -----------------------------------------------------------


def ticket_preflight(tx: Tx) -> str:
    count = tx.get("TicketCount")
    if count is None or not 1 <= count <= MAX_TICKETS:
        return "temINVALID_COUNT"
    return "tesSUCCESS"


def ticket_preclaim(tx: Tx, view: TxView) -> str:
    sle = view.read(keylets.account(tx.account))
    assert sle is not None
    current = sle.get("TicketCount", 0)
    consumed = 1 if tx.uses_ticket else 0
    if current + tx.get("TicketCount") - consumed > MAX_TICKETS:
        return "tecDIR_FULL"
    return "tesSUCCESS"


def ticket_apply(ctx: Ctx) -> str:
    view = ctx.view
    key = keylets.account(ctx.account)
    sle = view.read(key)
    assert sle is not None
    count = ctx.tx.get("TicketCount")
    if ctx.prior_balance < view.fees.reserve(sle["OwnerCount"] + count):
        return "tecINSUFFICIENT_RESERVE"
    first = sle["Sequence"]
    for seq in range(first, first + count):
        tkey = keylets.ticket(ctx.account, seq)
        page = dir_add(view, ctx.account, tkey)
        ticket: SLE = {
            "LedgerEntryType": LT_TICKET,
            "Flags": 0,
            "Account": ctx.account,
            "OwnerNode": page,
            "TicketSequence": seq,
        }
        view.insert(tkey, ticket)
    sle = view.peek(key)
    assert sle is not None
    sle["TicketCount"] = sle.get("TicketCount", 0) + count
    sle["Sequence"] = first + count
    view.update(key, sle)
    adjust_owner_count(view, ctx.account, count)
    return "tesSUCCESS"


ACCOUNT_SET = TxHandler(
    ACCOUNT_SET_TF, account_set_preflight, account_set_preclaim, account_set_apply
)
TICKET_CREATE = TxHandler(0, ticket_preflight, ok, ticket_apply)

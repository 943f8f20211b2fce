"""Transactor skeleton: preflight, preclaim, fee and sequence, doApply, tec claim.

Mirrors rippled's apply.cpp / Transactor.cpp order of checks so the same
malformed or badly timed transaction gets the same result code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from local.ledger_server import keylets
from local.ledger_server.amounts import IOU, MPT, is_legal_xrp
from local.ledger_server.crypto import account_id_from_pubkey
from local.ledger_server.tx import Tx
from local.ledger_server.view import (
    LT_TICKET,
    SLE,
    OpenView,
    TxView,
    adjust_owner_count,
    dir_remove,
)

TF_FULLY_CANONICAL_SIG = 0x80000000
TF_INNER_BATCH_TXN = 0x40000000
TF_UNIVERSAL = TF_FULLY_CANONICAL_SIG | TF_INNER_BATCH_TXN

LSF_DISABLE_MASTER = 0x00100000


@dataclass(slots=True)
class Ctx:
    """State of one transaction being applied (rippled's ApplyContext + Transactor)."""

    tx: Tx
    view: TxView
    account: bytes
    prior_balance: int = 0
    fee: int = 0  # drops actually charged (never more than the balance)
    delivered: Any = None
    extra_meta: dict[str, Any] = field(default_factory=dict)


class Handler(Protocol):
    flags_mask: int

    def preflight(self, tx: Tx) -> str: ...

    def preclaim(self, tx: Tx, view: TxView) -> str: ...

    def do_apply(self, ctx: Ctx) -> str: ...


@dataclass(frozen=True, slots=True)
class TxHandler:
    """A transaction family: allowed flags plus its three phases."""

    flags_mask: int
    preflight: Callable[[Tx], str]
    preclaim: Callable[[Tx, TxView], str]
    do_apply: Callable[[Ctx], str]


@dataclass(slots=True)
class Outcome:
    result: str
    applied: bool
    view: TxView | None = None
    delivered: Any = None
    extra_meta: dict[str, Any] = field(default_factory=dict)
    fee: int = 0  # drops destroyed


def ok(*_args: Any) -> str:
    return "tesSUCCESS"


def account_sle(view: TxView, account_id: bytes) -> SLE | None:
    return view.read(keylets.account(account_id))


def preflight_common(tx: Tx, handler: TxHandler) -> str:
    if tx.flags & ~(handler.flags_mask | TF_UNIVERSAL):
        return "temINVALID_FLAG"
    if tx.account == b"\x00" * 20 or len(tx.account) != 20:
        return "temBAD_SRC_ACCOUNT"
    fee = tx.fee
    if not isinstance(fee, int) or not is_legal_xrp(fee):
        return "temBAD_FEE"
    if tx.get("NetworkID") is not None:
        return "telNETWORK_ID_MAKES_TX_NON_CANONICAL"
    if tx.flags & TF_INNER_BATCH_TXN:
        return "temINVALID_FLAG"
    return handler.preflight(tx)


def check_seq_proxy(tx: Tx, view: TxView) -> str:
    sle = account_sle(view, tx.account)
    if sle is None:
        return "terNO_ACCOUNT"
    acct_seq = sle["Sequence"]
    if not tx.uses_ticket:
        if tx.has("TicketSequence"):
            return "temSEQ_AND_TICKET"
        if tx.sequence != acct_seq:
            return "terPRE_SEQ" if tx.sequence > acct_seq else "tefPAST_SEQ"
        return "tesSUCCESS"
    ticket = tx.ticket or 0
    if acct_seq <= ticket:
        return "terPRE_TICKET"
    if view.read(keylets.ticket(tx.account, ticket)) is None:
        return "tefNO_TICKET"
    return "tesSUCCESS"


def check_prior_and_last_ledger(tx: Tx, view: TxView) -> str:
    lls = tx.last_ledger
    if lls is not None and view.seq > lls:
        return "tefMAX_LEDGER"
    if tx.hash in view.base.tx_ids:
        return "tefALREADY"
    return "tesSUCCESS"


def check_fee(tx: Tx, view: TxView) -> str:
    fee = tx.fee
    assert isinstance(fee, int)
    if view.base.is_open and fee < view.fees.base * _signer_count(tx):
        return "telINSUF_FEE_P"
    if fee == 0:
        return "tesSUCCESS"
    sle = account_sle(view, tx.account)
    if sle is None:
        return "terNO_ACCOUNT"
    balance = sle["Balance"]
    if balance < fee:
        if balance > 0 and not view.base.is_open:
            return "tecINSUFF_FEE"
        return "terINSUF_FEE_B"
    return "tesSUCCESS"


def _signer_count(tx: Tx) -> int:
    signers = tx.get("Signers")
    return 1 + (len(signers) if signers else 0)


def check_sign(tx: Tx, view: TxView) -> str:
    pubkey: bytes = tx.get("SigningPubKey", b"")
    if not pubkey:
        return "tefNOT_MULTI_SIGNING"  # no SignerListSet support: no account has a list
    sle = account_sle(view, tx.account)
    assert sle is not None
    signer = account_id_from_pubkey(pubkey)
    if sle.get("RegularKey") == signer:
        return "tesSUCCESS"
    if signer == tx.account:
        return "tefMASTER_DISABLED" if sle["Flags"] & LSF_DISABLE_MASTER else "tesSUCCESS"
    return "tefBAD_AUTH"


def preclaim_common(tx: Tx, view: TxView, handler: TxHandler) -> str:
    for check in (check_seq_proxy, check_prior_and_last_ledger, check_fee, check_sign):
        result = check(tx, view)
        if result != "tesSUCCESS":
            return result
    return handler.preclaim(tx, view)


def pay_fee_and_consume_seq(ctx: Ctx) -> None:
    view, tx = ctx.view, ctx.tx
    key = keylets.account(ctx.account)
    sle = view.peek(key)
    assert sle is not None
    fee = tx.fee
    assert isinstance(fee, int)
    ctx.prior_balance = sle["Balance"]
    fee = min(fee, sle["Balance"])
    ctx.fee = fee
    sle["Balance"] -= fee
    if tx.uses_ticket:
        view.update(key, sle)
        _delete_ticket(view, ctx.account, tx.ticket or 0)
        return
    sle["Sequence"] = tx.sequence + 1
    view.update(key, sle)


def _delete_ticket(view: TxView, account_id: bytes, ticket_seq: int) -> None:
    tkey = keylets.ticket(account_id, ticket_seq)
    ticket = view.read(tkey)
    assert ticket is not None and ticket["LedgerEntryType"] == LT_TICKET
    dir_remove(view, account_id, ticket["OwnerNode"], tkey, keep_root=True)
    view.erase(tkey)
    akey = keylets.account(account_id)
    acct = view.peek(akey)
    assert acct is not None
    count = acct.get("TicketCount", 0)
    if count <= 1:
        acct.pop("TicketCount", None)
    else:
        acct["TicketCount"] = count - 1
    view.update(akey, acct)
    adjust_owner_count(view, account_id, -1)


def apply_transaction(
    base: OpenView,
    tx: Tx,
    handler: TxHandler | None,
    retry_assured: bool,
    fail_hard: bool = False,
) -> Outcome:
    """Apply one transaction to base; on tes/tec the changes stay in outcome.view.

    retry_assured is rippled's tapRETRY (a tec is retried later, not claimed);
    fail_hard is tapFAIL_HARD (a tec is discarded: no fee, no sequence).
    """
    if handler is None:
        return Outcome("temDISABLED", False)
    result = preflight_common(tx, handler)
    if result != "tesSUCCESS":
        return Outcome(result, False)
    view = TxView(base)
    result = preclaim_common(tx, view, handler)
    if result != "tesSUCCESS" and not result.startswith("tec"):
        return Outcome(result, False)
    ctx = Ctx(tx, view, tx.account)
    pay_fee_and_consume_seq(ctx)
    if result == "tesSUCCESS":
        result = handler.do_apply(ctx)
    if result.startswith("tec"):
        if retry_assured or fail_hard:
            return Outcome(result, False)
        view.reset()
        ctx = Ctx(tx, view, tx.account)
        pay_fee_and_consume_seq(ctx)
    elif result != "tesSUCCESS":
        return Outcome(result, False)
    return Outcome(result, True, view, ctx.delivered, ctx.extra_meta, ctx.fee)


def is_positive(amount: int | IOU | MPT) -> bool:
    if isinstance(amount, int):
        return amount > 0
    return amount.value > 0

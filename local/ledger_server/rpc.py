"""JSON-RPC / WebSocket method handlers returning rippled API v2 shapes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from local.ledger_server import codec, keylets
from local.ledger_server.amounts import currency_text, iou_text
from local.ledger_server.chain import (
    Chain,
    LedgerHeader,
    TxRecord,
    ripple_time_human,
    ripple_time_iso,
)
from local.ledger_server.crypto import decode_address, encode_address
from local.ledger_server.engine import lines
from local.ledger_server.jsonfmt import amount_json, object_json, sle_json
from local.ledger_server.results import code, message
from local.ledger_server.tx import Tx, check_signature, parse
from local.ledger_server.view import LEDGER_ENTRY_TYPES, SLE, dir_entries

BUILD_VERSION = "2.5.0-local"
Params = dict[str, Any]

ERRORS: dict[str, tuple[int, str]] = {
    "actMalformed": (35, "Account malformed."),
    "actNotFound": (19, "Account not found."),
    "entryNotFound": (98, "Entry not found."),
    "excessiveLgrRange": (78, "Ledger range exceeds 1000."),
    "internal": (73, "Internal error."),
    "invalidLgrRange": (79, "Ledger range is invalid."),
    "invalidParams": (31, "Invalid parameters."),
    "lgrIdxMalformed": (58, "Ledger index malformed."),
    "lgrNotFound": (21, "Ledger not found."),
    "malformedStream": (71, "Stream malformed."),
    "noPermission": (6, "You don't have permission for this command."),
    "notImpl": (74, "Not implemented."),
    "notSupported": (75, "Operation not supported."),
    "txnNotFound": (29, "Transaction not found."),
    "unknownCmd": (32, "Unknown method."),
    "unexpectedLedgerType": (99, "Unexpected ledger type."),
    "noEvents": (7, "Current transport does not support events."),
}


class RpcError(Exception):
    """An error reply; extra keys (e.g. searched_all) are merged into the result."""

    def __init__(self, token: str, msg: str | None = None, **extra: Any) -> None:
        super().__init__(token)
        self.token = token
        self.msg = msg
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.token}
        if self.token in ERRORS:
            error_code, default = ERRORS[self.token]
            body["error_code"] = error_code
            body["error_message"] = self.msg or default
        elif self.msg:
            body["error_exception"] = self.msg
        body.update(self.extra)
        return body


def _missing(name: str) -> RpcError:
    return RpcError("invalidParams", f"Missing field '{name}'.")


def _account_param(params: Params, name: str = "account") -> bytes:
    value = params.get(name)
    if value is None:
        raise _missing(name)
    if not isinstance(value, str):
        raise RpcError("invalidParams", f"Invalid field '{name}', not string.")
    try:
        return decode_address(value)
    except ValueError:
        raise RpcError("actMalformed") from None


class LedgerRef:
    """The ledger a read request resolved to: the open ledger or a validated one."""

    def __init__(
        self, chain: Chain, header: LedgerHeader | None, state: dict[bytes, SLE] | None
    ) -> None:
        self.chain = chain
        self.header = header
        self.state = state

    def read(self, key: bytes) -> SLE | None:
        if self.state is None:
            return self.chain.read_open(key)
        return self.state.get(key)

    def entries(self, owner: bytes) -> list[bytes]:
        if self.state is None:
            return dir_entries(self.chain.open, owner)
        return dir_entries(self.state, owner)

    def stamp(self, result: dict[str, Any]) -> dict[str, Any]:
        if self.header is None:
            result["ledger_current_index"] = self.chain.current_index
            result["validated"] = False
        else:
            result["ledger_hash"] = self.header.hash.hex().upper()
            result["ledger_index"] = self.header.seq
            result["validated"] = True
        return result


def resolve_ledger(chain: Chain, params: Params, default: str = "current") -> LedgerRef:
    ledger_hash = params.get("ledger_hash")
    if ledger_hash is not None:
        for header in chain.headers.values():
            if header.hash.hex().upper() == str(ledger_hash).upper():
                return _closed_ref(chain, header.seq)
        raise RpcError("lgrNotFound", "ledgerNotFound")
    index = params.get("ledger_index", default)
    if index in ("current", None):
        return LedgerRef(chain, None, None)
    if index in ("validated", "closed"):
        return _closed_ref(chain, chain.last_closed.seq)
    if isinstance(index, str) and index.isdigit():
        index = int(index)
    if not isinstance(index, int) or isinstance(index, bool):
        raise RpcError("invalidParams", "ledgerIndexMalformed")
    if index == chain.current_index:
        return LedgerRef(chain, None, None)
    return _closed_ref(chain, index)


def _closed_ref(chain: Chain, seq: int) -> LedgerRef:
    header = chain.headers.get(seq)
    state = chain.state_at(seq)
    if header is None or state is None:
        raise RpcError("lgrNotFound", "ledgerNotFound")
    return LedgerRef(chain, header, state)


# --- server information ------------------------------------------------------


def server_info(chain: Chain, params: Params) -> dict[str, Any]:
    closed = chain.last_closed
    fees = chain.fees
    return {
        "info": {
            **_common_info(chain),
            "load_factor": 1,
            "validated_ledger": {
                "age": int(time.monotonic() - chain.closed_at),
                "base_fee_xrp": fees.base / 1_000_000,
                "hash": closed.hash.hex().upper(),
                "reserve_base_xrp": fees.reserve_base / 1_000_000,
                "reserve_inc_xrp": fees.reserve_inc / 1_000_000,
                "seq": closed.seq,
            },
        }
    }


def server_state(chain: Chain, params: Params) -> dict[str, Any]:
    closed = chain.last_closed
    fees = chain.fees
    return {
        "state": {
            **_common_info(chain),
            "load_base": 256,
            "load_factor": 256,
            "load_factor_fee_escalation": 256,
            "load_factor_fee_queue": 256,
            "load_factor_fee_reference": 256,
            "load_factor_server": 256,
            "validated_ledger": {
                "base_fee": fees.base,
                "close_time": closed.close_time,
                "hash": closed.hash.hex().upper(),
                "reserve_base": fees.reserve_base,
                "reserve_inc": fees.reserve_inc,
                "seq": closed.seq,
            },
        }
    }


def _common_info(chain: Chain) -> dict[str, Any]:
    return {
        "build_version": BUILD_VERSION,
        "complete_ledgers": f"{chain.earliest_kept()}-{max(chain.headers)}",
        "hostid": "LOCAL",
        "io_latency_ms": 1,
        "jq_trans_overflow": "0",
        "last_close": {"converge_time_s": 0, "proposers": 0},
        "peer_disconnects": "0",
        "peer_disconnects_resources": "0",
        "peers": 0,
        "pubkey_node": "n9LocalLedgerEmulatorNode",
        "server_state": "full",
        "server_state_duration_us": "0",
        "time": ripple_time_human(chain.last_closed.close_time),
        "uptime": 0,
        "validation_quorum": 0,
    }


def fee(chain: Chain, params: Params) -> dict[str, Any]:
    base = str(chain.fees.base)
    return {
        "current_ledger_size": str(len(chain.open_txs)),
        "current_queue_size": "0",
        "drops": {
            "base_fee": base,
            "median_fee": str(chain.fees.base * 500),
            "minimum_fee": base,
            "open_ledger_fee": base,
        },
        "expected_ledger_size": "1000",
        "ledger_current_index": chain.current_index,
        "levels": {
            "median_level": "128000",
            "minimum_level": "256",
            "open_ledger_level": "256",
            "reference_level": "256",
        },
        "max_queue_size": "20000",
    }


# --- ledgers -----------------------------------------------------------------


def ledger_current(chain: Chain, params: Params) -> dict[str, Any]:
    return {"ledger_current_index": chain.current_index}


def ledger_closed(chain: Chain, params: Params) -> dict[str, Any]:
    closed = chain.last_closed
    return {"ledger_hash": closed.hash.hex().upper(), "ledger_index": closed.seq}


def ledger_accept(chain: Chain, params: Params) -> dict[str, Any]:
    chain.close()
    return {"ledger_current_index": chain.current_index}


def ledger(chain: Chain, params: Params) -> dict[str, Any]:
    ref = resolve_ledger(chain, params, default="validated")
    want_txs = bool(params.get("transactions"))
    expand = bool(params.get("expand"))
    if ref.header is None:
        body: dict[str, Any] = {
            "closed": False,
            "ledger_index": chain.current_index,
            "parent_hash": chain.last_closed.hash.hex().upper(),
            "total_coins": str(chain.last_closed.total_coins - chain.open.drops_destroyed),
        }
        if want_txs:
            body["transactions"] = [
                _open_tx_json(chain, tx.hash) if expand else tx.hash.hex().upper()
                for tx, _ in chain.open_txs
            ]
        return {"ledger": body, "ledger_current_index": chain.current_index, "validated": False}
    header = ref.header
    body = header_json(header)
    if want_txs:
        body["transactions"] = [
            record_json(chain, chain.txs[h]) if expand else h.hex().upper()
            for h in header.tx_hashes
        ]
    return {
        "ledger": body,
        "ledger_hash": body["ledger_hash"],
        "ledger_index": header.seq,
        "validated": True,
    }


def _open_tx_json(chain: Chain, tx_hash: bytes) -> dict[str, Any]:
    for tx, _ in chain.open_txs:
        if tx.hash == tx_hash:
            return {"hash": tx.hash.hex().upper(), "tx_json": object_json(tx.fields)}
    return {}


def header_json(header: LedgerHeader) -> dict[str, Any]:
    return {
        "account_hash": header.account_hash.hex().upper(),
        "close_flags": 0,
        "close_time": header.close_time,
        "close_time_human": ripple_time_human(header.close_time),
        "close_time_iso": ripple_time_iso(header.close_time),
        "close_time_resolution": header.close_time_resolution,
        "closed": True,
        "ledger_hash": header.hash.hex().upper(),
        "ledger_index": header.seq,
        "parent_close_time": header.parent_close_time,
        "parent_hash": header.parent_hash.hex().upper(),
        "total_coins": str(header.total_coins),
        "transaction_hash": header.transaction_hash.hex().upper(),
    }


# --- transactions ------------------------------------------------------------


def meta_json(record: TxRecord) -> dict[str, Any]:
    nodes = []
    for key, kind, body in record.nodes:
        node: dict[str, Any] = {
            "LedgerEntryType": codec.LEDGER_ENTRY_NAMES[body["LedgerEntryType"]],
            "LedgerIndex": key.hex().upper(),
        }
        for group in ("NewFields", "FinalFields", "PreviousFields"):
            if group in body:
                node[group] = object_json(body[group])
        if "PreviousTxnID" in body:
            node["PreviousTxnID"] = body["PreviousTxnID"].hex().upper()
            node["PreviousTxnLgrSeq"] = body["PreviousTxnLgrSeq"]
        nodes.append({kind: node})
    meta: dict[str, Any] = {
        "AffectedNodes": nodes,
        "TransactionIndex": record.tx_index,
        "TransactionResult": record.result,
    }
    if "DeliveredAmount" in record.extra_meta:
        meta["DeliveredAmount"] = amount_json(record.extra_meta["DeliveredAmount"])
    if record.result == "tesSUCCESS":
        if record.tx.tx_type == "Payment" and record.delivered is not None:
            meta["delivered_amount"] = amount_json(record.delivered)
        if "mpt_issuance_id" in record.extra_meta:
            meta["mpt_issuance_id"] = record.extra_meta["mpt_issuance_id"].hex().upper()
    return meta


def record_json(chain: Chain, record: TxRecord, binary: bool = False) -> dict[str, Any]:
    header = chain.headers.get(record.ledger_index)
    tx_json = object_json(record.tx.fields)
    result: dict[str, Any] = {
        "hash": record.tx.hash.hex().upper(),
        "ledger_index": record.ledger_index,
    }
    if header is not None:
        tx_json["date"] = header.close_time
        result["close_time_iso"] = ripple_time_iso(header.close_time)
        result["ledger_hash"] = header.hash.hex().upper()
    tx_json["ledger_index"] = record.ledger_index
    result["ctid"] = _ctid(record.ledger_index, record.tx_index)
    if binary:
        result["tx_blob"] = record.tx.blob.hex().upper()
    else:
        result["tx_json"] = tx_json
    result["meta"] = meta_json(record)
    result["validated"] = True
    return result


def _ctid(ledger_index: int, tx_index: int, network_id: int = 0) -> str:
    value = (0xC << 60) | (ledger_index << 32) | (tx_index << 16) | network_id
    return format(value, "016X")


def submit(chain: Chain, params: Params) -> dict[str, Any]:
    blob_hex = params.get("tx_blob")
    if blob_hex is None:
        raise RpcError("notSupported", "Signing is not supported by this server.")
    try:
        blob = bytes.fromhex(blob_hex) if isinstance(blob_hex, str) else b""
    except ValueError:
        blob = b""
    if not blob:
        raise RpcError("invalidParams")
    try:
        tx = parse(blob)
    except codec.CodecError as exc:
        raise RpcError("invalidTransaction", str(exc)) from None
    reason = check_signature(tx)
    if reason is not None:
        raise RpcError("invalidTransaction", f"fails local checks: {reason}")
    outcome = chain.submit(tx, fail_hard=bool(params.get("fail_hard")))
    tx_json = object_json(tx.fields)
    tx_json["hash"] = tx.hash.hex().upper()
    result: dict[str, Any] = {
        "accepted": outcome.applied or outcome.kept or outcome.queued,
        "applied": outcome.applied,
        "broadcast": outcome.applied,
        "engine_result": outcome.result,
        "engine_result_code": code(outcome.result),
        "engine_result_message": message(outcome.result),
        "kept": outcome.kept,
        "open_ledger_cost": str(chain.fees.base),
        "queued": outcome.queued,
        "tx_blob": blob.hex().upper(),
        "tx_json": tx_json,
        "validated_ledger_index": chain.last_closed.seq,
    }
    acct = chain.read_open(keylets.account(tx.account))
    if acct is not None:
        result["account_sequence_available"] = acct["Sequence"]
        result["account_sequence_next"] = acct["Sequence"]
    return result


def tx(chain: Chain, params: Params) -> dict[str, Any]:
    tx_hash = params.get("transaction")
    if not isinstance(tx_hash, str):
        raise RpcError("invalidParams")
    try:
        key = bytes.fromhex(tx_hash)
    except ValueError:
        raise RpcError("notImpl") from None
    if len(key) != 32:
        raise RpcError("notImpl")
    lo_hi = _ledger_range(params)
    record = chain.txs.get(key)
    if record is not None:
        return record_json(chain, record, binary=bool(params.get("binary")))
    pending = chain.cached_tx(key)
    if pending is not None:
        return _unvalidated_tx_json(pending, binary=bool(params.get("binary")))
    if lo_hi is None:
        raise RpcError("txnNotFound")
    searched_all = all(s in chain.headers for s in range(lo_hi[0], lo_hi[1] + 1))
    raise RpcError("txnNotFound", searched_all=searched_all)


def _ledger_range(params: Params) -> tuple[int, int] | None:
    """min_ledger/max_ledger as doTxJson reads them (both or neither, Json asUInt)."""
    if "min_ledger" not in params or "max_ledger" not in params:
        return None
    lo, hi = _as_uint(params["min_ledger"]), _as_uint(params["max_ledger"])
    if hi < lo:
        raise RpcError("invalidLgrRange")
    if hi - lo > 1000:
        raise RpcError("excessiveLgrRange")
    return lo, hi


def _as_uint(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and 0 <= value <= 0xFFFFFFFF:
        return int(value)
    if isinstance(value, str) and value.isdigit() and int(value) <= 0xFFFFFFFF:
        return int(value)
    raise RpcError("invalidLgrRange")


def _unvalidated_tx_json(candidate: Tx, binary: bool) -> dict[str, Any]:
    """A received transaction that is in no validated ledger: the cache answer, ledger 0."""
    result: dict[str, Any] = {"hash": candidate.hash.hex().upper()}
    if binary:
        result["tx_blob"] = candidate.blob.hex().upper()
    else:
        result["tx_json"] = object_json(candidate.fields)
    result["validated"] = False
    return result


# --- accounts ----------------------------------------------------------------

_ACCOUNT_FLAGS = {
    "defaultRipple": lines.LSF_DEFAULT_RIPPLE,
    "depositAuth": lines.LSF_DEPOSIT_AUTH,
    "disableMasterKey": 0x00100000,
    "disallowIncomingCheck": 0x08000000,
    "disallowIncomingNFTokenOffer": 0x04000000,
    "disallowIncomingPayChan": 0x10000000,
    "disallowIncomingTrustline": 0x20000000,
    "disallowIncomingXRP": 0x00080000,
    "globalFreeze": lines.LSF_GLOBAL_FREEZE,
    "noFreeze": lines.LSF_NO_FREEZE,
    "passwordSpent": 0x00010000,
    "requireAuthorization": lines.LSF_REQUIRE_AUTH,
    "requireDestinationTag": 0x00020000,
    "allowTrustLineClawback": lines.LSF_ALLOW_TRUSTLINE_CLAWBACK,
    "allowTrustLineLocking": lines.LSF_ALLOW_TRUSTLINE_LOCKING,
}


def account_info(chain: Chain, params: Params) -> dict[str, Any]:
    account = _account_param(params)
    ref = resolve_ledger(chain, params)
    key = keylets.account(account)
    sle = ref.read(key)
    if sle is None:
        raise RpcError("actNotFound", account=encode_address(account), **_ledger_stamp(ref))
    flags = sle["Flags"]
    result: dict[str, Any] = {
        "account_data": sle_json(key, sle),
        "account_flags": {name: bool(flags & bit) for name, bit in _ACCOUNT_FLAGS.items()},
    }
    if params.get("signer_lists"):
        result["signer_lists"] = []
    return ref.stamp(result)


def _ledger_stamp(ref: LedgerRef) -> dict[str, Any]:
    return ref.stamp({})


def account_lines(chain: Chain, params: Params) -> dict[str, Any]:
    account = _account_param(params)
    ref = resolve_ledger(chain, params)
    acct = ref.read(keylets.account(account))
    if acct is None:
        raise RpcError("actNotFound")
    peer_filter = _account_param(params, "peer") if "peer" in params else None
    out = []
    for key in ref.entries(account):
        line = ref.read(key)
        if line is None or line["LedgerEntryType"] != LEDGER_ENTRY_TYPES["RippleState"]:
            continue
        entry = line_json(line, account)
        if peer_filter is not None and entry["account"] != encode_address(peer_filter):
            continue
        out.append(entry)
    return ref.stamp(_page(params, account, "lines", out))


def _page(params: Params, account: bytes, field: str, items: list[Any]) -> dict[str, Any]:
    """One page of an account's list, with rippled's marker when more remain."""
    limit, offset = _paging(params, 200)
    result: dict[str, Any] = {
        "account": encode_address(account),
        field: items[offset : offset + limit],
    }
    if offset + limit < len(items):
        result["marker"] = str(offset + limit)
        result["limit"] = limit
    return result


def _paging(params: Params, default: int) -> tuple[int, int]:
    limit = params.get("limit", default)
    if not isinstance(limit, int) or limit <= 0:
        raise RpcError("invalidParams", "Invalid field 'limit', not unsigned integer.")
    marker = params.get("marker")
    offset = int(marker) if isinstance(marker, str) and marker.isdigit() else 0
    return limit, offset


def line_json(line: SLE, account: bytes) -> dict[str, Any]:
    """One account_lines entry, seen from account's side (rippled addLine).

    Every flag appears only when set: since rippled 2.5 (PR #5345) no_ripple and
    no_ripple_peer no longer depend on DefaultRipple.
    """
    low = line["LowLimit"].issuer == account
    mine, theirs = ("Low", "High") if low else ("High", "Low")
    flags = line["Flags"]

    def has(side: str, kind: str) -> bool:
        return bool(flags & getattr(lines, f"LSF_{side.upper()}_{kind}"))

    entry: dict[str, Any] = {
        "account": encode_address(line[f"{theirs}Limit"].issuer),
        "balance": iou_text(lines.balance_for(line, account)),
        "currency": currency_text(line["Balance"].currency),
        "limit": iou_text(line[f"{mine}Limit"].value),
        "limit_peer": iou_text(line[f"{theirs}Limit"].value),
        "quality_in": line.get(f"{mine}QualityIn", 0),
        "quality_out": line.get(f"{mine}QualityOut", 0),
    }
    if has(mine, "AUTH"):
        entry["authorized"] = True
    if has(theirs, "AUTH"):
        entry["peer_authorized"] = True
    for kind, name in (
        ("NO_RIPPLE", "no_ripple"),
        ("FREEZE", "freeze"),
        ("DEEP_FREEZE", "deep_freeze"),
    ):
        if has(mine, kind):
            entry[name] = True
        if has(theirs, kind):
            entry[f"{name}_peer"] = True
    return entry


_TYPE_FILTERS = {
    "state": "RippleState",
    "ticket": "Ticket",
    "mpt_issuance": "MPTokenIssuance",
    "mptoken": "MPToken",
    "directory": "DirectoryNode",
    "account": "AccountRoot",
    "offer": "Offer",
    "check": "Check",
    "escrow": "Escrow",
    "payment_channel": "PayChannel",
    "signer_list": "SignerList",
    "deposit_preauth": "DepositPreauth",
    "nft_offer": "NFTokenOffer",
    "nft_page": "NFTokenPage",
    "credential": "Credential",
}


def _type_filter(params: Params) -> int | None:
    name = params.get("type")
    if name is None:
        return None
    if not isinstance(name, str):
        raise RpcError("invalidParams", "Invalid field 'type'.")
    canonical = _TYPE_FILTERS.get(name.lower())
    if canonical is None:
        canonical = next((t for t in LEDGER_ENTRY_TYPES if t.lower() == name.lower()), None)
    if canonical is None:
        raise RpcError("invalidParams", "Invalid field 'type'.")
    return LEDGER_ENTRY_TYPES[canonical]


def account_objects(chain: Chain, params: Params) -> dict[str, Any]:
    account = _account_param(params)
    ref = resolve_ledger(chain, params)
    if ref.read(keylets.account(account)) is None:
        raise RpcError("actNotFound")
    wanted = _type_filter(params)
    objects = []
    for key in ref.entries(account):
        sle = ref.read(key)
        if sle is None or (wanted is not None and sle["LedgerEntryType"] != wanted):
            continue
        objects.append(sle_json(key, sle))
    return ref.stamp(_page(params, account, "account_objects", objects))


def account_tx(chain: Chain, params: Params) -> dict[str, Any]:
    account = _account_param(params)
    closed = chain.last_closed.seq
    first = min(chain.headers)
    lo = params.get("ledger_index_min", -1)
    hi = params.get("ledger_index_max", -1)
    if "ledger_index" in params or "ledger_hash" in params:
        ref = resolve_ledger(chain, params, default="validated")
        lo = hi = ref.header.seq if ref.header else closed
    lo = first if lo in (-1, None) else lo
    hi = closed if hi in (-1, None) else hi
    if not isinstance(lo, int) or not isinstance(hi, int) or lo > hi:
        raise RpcError("invalidLgrRange")
    with chain.lock:
        entries = [e for e in chain.account_txs.get(account, []) if lo <= e[0] <= hi]
    forward = bool(params.get("forward", False))
    entries.sort(reverse=not forward)
    limit, _ = _paging(params, 200)
    entries = _from_tx_marker(entries, params.get("marker"), forward)
    page = entries[:limit]
    binary = bool(params.get("binary"))
    txs = [record_json(chain, chain.txs[h], binary) for _, _, h in page]
    result: dict[str, Any] = {
        "account": encode_address(account),
        "ledger_index_min": lo,
        "ledger_index_max": hi,
        "limit": limit,
        "transactions": txs,
        "validated": True,
    }
    if limit < len(entries):  # rippled's marker: the ledger and index of the next one
        result["marker"] = {"ledger": entries[limit][0], "seq": entries[limit][1]}
    return result


def _from_tx_marker(entries: list[Any], marker: Any, forward: bool) -> list[Any]:
    """The entries from the marker's transaction on: (ledger, index in ledger) keeps its place
    while new ledgers close between pages, which an offset would not."""
    if marker is None:
        return entries
    if not isinstance(marker, dict) or not all(
        isinstance(marker.get(k), int) for k in ("ledger", "seq")
    ):
        raise RpcError("invalidParams", "Invalid field 'marker'.")
    at = (marker["ledger"], marker["seq"])
    return [e for e in entries if ((e[0], e[1]) >= at if forward else (e[0], e[1]) <= at)]


def ledger_entry(chain: Chain, params: Params) -> dict[str, Any]:
    ref = resolve_ledger(chain, params)
    key, expected = _entry_key(params)
    sle = ref.read(key)
    if sle is None:
        raise RpcError("entryNotFound")
    if expected is not None and sle["LedgerEntryType"] != LEDGER_ENTRY_TYPES[expected]:
        raise RpcError("unexpectedLedgerType")
    result: dict[str, Any] = {"index": key.hex().upper()}
    result["node"] = sle_json(key, sle)
    return ref.stamp(result)


def _hex_key(value: Any, size: int, field: str) -> bytes:
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise RpcError("invalidParams", f"Invalid field '{field}'.")
    return raw


def _entry_key(params: Params) -> tuple[bytes, str | None]:
    if "index" in params:
        return _hex_key(params["index"], 32, "index"), None
    if "account_root" in params:
        try:
            return keylets.account(decode_address(params["account_root"])), "AccountRoot"
        except (ValueError, TypeError):
            raise RpcError("actMalformed") from None
    if "ripple_state" in params:
        return _ripple_state_key(params["ripple_state"]), "RippleState"
    if "ticket" in params:
        return _ticket_key(params["ticket"]), "Ticket"
    if "mpt_issuance" in params:
        return keylets.mpt_issuance(
            _hex_key(params["mpt_issuance"], 24, "mpt_issuance")
        ), "MPTokenIssuance"
    if "mptoken" in params:
        return _mptoken_key(params["mptoken"]), "MPToken"
    if "directory" in params:
        return _directory_key(params["directory"]), "DirectoryNode"
    raise RpcError("invalidParams")


def _ripple_state_key(value: Any) -> bytes:
    if isinstance(value, str):
        return _hex_key(value, 32, "ripple_state")
    if not isinstance(value, dict):
        raise RpcError("invalidParams", "Invalid field 'ripple_state', not object.")
    accounts, currency = value.get("accounts"), value.get("currency")
    if not isinstance(accounts, list) or len(accounts) != 2 or not isinstance(currency, str):
        raise RpcError("invalidParams", "Malformed request.")
    try:
        a, b = (decode_address(x) for x in accounts)
    except (ValueError, TypeError):
        raise RpcError("invalidParams", "Malformed request.") from None
    return keylets.line(a, b, _currency_bytes(currency))


def _currency_bytes(currency: str) -> bytes:
    if len(currency) == 3:
        return b"\x00" * 12 + currency.encode("ascii") + b"\x00" * 5
    return _hex_key(currency, 20, "currency")


def _ticket_key(value: Any) -> bytes:
    if isinstance(value, str):
        return _hex_key(value, 32, "ticket")
    if not isinstance(value, dict) or "account" not in value or "ticket_seq" not in value:
        raise RpcError("invalidParams", "Malformed request.")
    return keylets.ticket(_account_param(value), int(value["ticket_seq"]))


def _mptoken_key(value: Any) -> bytes:
    if isinstance(value, str):
        return _hex_key(value, 32, "mptoken")
    if not isinstance(value, dict):
        raise RpcError("invalidParams", "Malformed request.")
    issuance = _hex_key(value.get("mpt_issuance_id"), 24, "mpt_issuance_id")
    return keylets.mptoken(issuance, _account_param(value))


def _directory_key(value: Any) -> bytes:
    if isinstance(value, str):
        return _hex_key(value, 32, "directory")
    if not isinstance(value, dict) or "owner" not in value:
        raise RpcError("invalidParams", "Malformed request.")
    root = keylets.owner_dir(_account_param(value, "owner"))
    return keylets.dir_page(root, int(value.get("sub_index", 0)))


METHODS: dict[str, Callable[[Chain, Params], dict[str, Any]]] = {
    "server_info": server_info,
    "server_state": server_state,
    "fee": fee,
    "ledger": ledger,
    "ledger_current": ledger_current,
    "ledger_closed": ledger_closed,
    "ledger_accept": ledger_accept,
    "account_info": account_info,
    "account_lines": account_lines,
    "account_objects": account_objects,
    "account_tx": account_tx,
    "ledger_entry": ledger_entry,
    "submit": submit,
    "tx": tx,
    "ping": lambda chain, params: {},
}


def dispatch(chain: Chain, method: Any, params: Params) -> dict[str, Any]:
    """Run one method; returns the result body (with status) or an error body."""
    if not isinstance(method, str) or method not in METHODS:
        error = RpcError("unknownCmd")
        return {**error.to_json(), "status": "error"}
    try:
        with chain.lock:  # a close on another thread is seen all at once or not at all
            result = METHODS[method](chain, params)
    except RpcError as error:
        return {**error.to_json(), "status": "error"}
    except Exception as exc:  # noqa: BLE001 - a bad request must never kill the server
        return {**RpcError("internal", f"Internal error: {exc!r}").to_json(), "status": "error"}
    result["status"] = "success"
    return result

"""Render decoded transactions and ledger entries the way rippled's getJson does."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from local.ledger_server.amounts import IOU, MPT, currency_text, iou_text
from local.ledger_server.codec import (
    FIELDS_BY_NAME,
    LEDGER_ENTRY_NAMES,
    LEDGER_ENTRY_TYPES,
    TX_TYPE_NAMES,
)
from local.ledger_server.crypto import encode_address
from local.ledger_server.results import code_name

# UInt64 fields rippled renders in base ten (sMD_BaseTen); all others are hex.
BASE_TEN_U64 = frozenset({"MaximumAmount", "OutstandingAmount", "MPTAmount", "LockedAmount"})


def amount_json(value: int | IOU | MPT) -> Any:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, IOU):
        return {
            "currency": currency_text(value.currency),
            "issuer": encode_address(value.issuer),
            "value": iou_text(value.value),
        }
    return {"mpt_issuance_id": value.mpt_id.hex().upper(), "value": str(value.value)}


def _path_json(paths: list[list[dict[str, bytes]]]) -> list[list[dict[str, Any]]]:
    out = []
    for path in paths:
        steps = []
        for step in path:
            js: dict[str, Any] = {}
            if "account" in step:
                js["account"] = encode_address(step["account"])
            if "currency" in step:
                js["currency"] = currency_text(step["currency"])
            if "issuer" in step:
                js["issuer"] = encode_address(step["issuer"])
            if "mpt_issuance_id" in step:
                js["mpt_issuance_id"] = step["mpt_issuance_id"].hex().upper()
            steps.append(js)
        out.append(steps)
    return out


def field_json(name: str, value: Any) -> Any:
    fd = FIELDS_BY_NAME[name]
    t = fd.type_name
    if name == "TransactionType":
        return TX_TYPE_NAMES.get(value, str(value))
    if name == "LedgerEntryType":
        return LEDGER_ENTRY_NAMES.get(value, str(value))
    if name == "TransactionResult":
        return code_name(value)
    if t == "UInt64":
        return str(value) if name in BASE_TEN_U64 else format(value, "x")
    if t in ("UInt8", "UInt16", "UInt32", "Int32"):
        return value
    if t == "AccountID":
        return encode_address(value)
    if t == "Amount":
        return amount_json(value)
    if t == "Currency":
        return currency_text(value)
    if t == "Vector256":
        return [v.hex().upper() for v in value]
    if t == "STObject":
        return object_json(value)
    if t == "STArray":
        return [{k: object_json(v) for k, v in item.items()} for item in value]
    if t == "PathSet":
        return _path_json(value)
    if t == "Issue":
        currency, issuer = value
        js = {"currency": currency_text(currency)}
        if issuer:
            js["issuer"] = encode_address(issuer)
        return js
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, Decimal):
        return iou_text(value)
    return value


def object_json(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: field_json(name, value) for name, value in fields.items()}


def sle_json(key: bytes, sle: dict[str, Any]) -> dict[str, Any]:
    """STLedgerEntry::getJson: the fields, the index, and an MPT issuance's id."""
    js = object_json(sle)
    js["index"] = key.hex().upper()
    if sle.get("LedgerEntryType") == LEDGER_ENTRY_TYPES["MPTokenIssuance"]:
        mpt_id = sle["Sequence"].to_bytes(4, "big") + sle["Issuer"]
        js["mpt_issuance_id"] = mpt_id.hex().upper()
    return js

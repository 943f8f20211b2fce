"""Lean XRPL binary codec: decodes a signed blob into typed Python values.

Why not xrpl-py's decoder: it is slow on the submit hot path and renders UInt64
fields as hex. This decoder keeps integers as ``int``, amounts as typed objects,
and remembers the byte span of each top-level field so the signing payload can
be cut out of the original blob without ever re-encoding it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import xrpl.core.binarycodec.definitions as _defs_pkg

from local.ledger_server.amounts import IOU, MPT, iou_from_parts

_DEFS_PATH = Path(_defs_pkg.__file__).with_name("definitions.json")
_DEFS: dict[str, Any] = json.loads(_DEFS_PATH.read_text())

TYPE_CODES: dict[str, int] = _DEFS["TYPES"]
TX_TYPES: dict[str, int] = _DEFS["TRANSACTION_TYPES"]
TX_TYPE_NAMES: dict[int, str] = {v: k for k, v in TX_TYPES.items()}
LEDGER_ENTRY_TYPES: dict[str, int] = _DEFS["LEDGER_ENTRY_TYPES"]
LEDGER_ENTRY_NAMES: dict[int, str] = {v: k for k, v in LEDGER_ENTRY_TYPES.items()}
TX_RESULTS: dict[str, int] = _DEFS["TRANSACTION_RESULTS"]


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    type_name: str
    type_code: int
    nth: int
    is_vl: bool
    is_signing: bool


FIELDS_BY_NAME: dict[str, FieldDef] = {}
FIELDS_BY_CODE: dict[tuple[int, int], FieldDef] = {}
for _name, _info in _DEFS["FIELDS"]:
    if not _info["isSerialized"] or _info["type"] not in TYPE_CODES:
        continue
    _fd = FieldDef(
        _name,
        _info["type"],
        TYPE_CODES[_info["type"]],
        _info["nth"],
        _info["isVLEncoded"],
        _info["isSigningField"],
    )
    FIELDS_BY_NAME[_name] = _fd
    FIELDS_BY_CODE[(_fd.type_code, _fd.nth)] = _fd


class CodecError(ValueError):
    """The blob is not a well-formed serialized object."""


_FIXED_SIZES = {
    "UInt8": 1,
    "UInt16": 2,
    "UInt32": 4,
    "UInt64": 8,
    "Int32": 4,
    "Int64": 8,
    "Hash128": 16,
    "Hash160": 20,
    "Hash192": 24,
    "Hash256": 32,
    "Hash384": 48,
    "Hash512": 64,
    "UInt96": 12,
    "Currency": 20,
    "Number": 12,
}
_INT_TYPES = {"UInt8", "UInt16", "UInt32", "UInt64"}
_OBJECT_END = 0xE1
_ARRAY_END = 0xF1


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise CodecError("unexpected end of data")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise CodecError("unexpected end of data")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def vl_length(self) -> int:
        b1 = self.byte()
        if b1 <= 192:
            return b1
        if b1 <= 240:
            return 193 + (b1 - 193) * 256 + self.byte()
        if b1 <= 254:
            b2, b3 = self.byte(), self.byte()
            return 12481 + (b1 - 241) * 65536 + b2 * 256 + b3
        raise CodecError("invalid variable length prefix")

    def field_header(self) -> tuple[int, int]:
        b = self.byte()
        type_code, nth = b >> 4, b & 0x0F
        if type_code == 0:
            type_code = self.byte()
            if type_code < 16:
                raise CodecError("non-canonical field header")
        if nth == 0:
            nth = self.byte()
            if nth < 16:
                raise CodecError("non-canonical field header")
        return type_code, nth


def _read_amount(r: _Reader) -> int | IOU | MPT:
    first = r.data[r.pos] if r.pos < len(r.data) else 0
    if first & 0x80:
        raw = int.from_bytes(r.take(8), "big")
        currency, issuer = r.take(20), r.take(20)
        if raw == 0x8000000000000000:
            return IOU(Decimal(0), currency, issuer)
        positive = bool(raw & 0x4000000000000000)
        exponent = ((raw >> 54) & 0xFF) - 97
        mantissa = raw & 0x003FFFFFFFFFFFFF
        return iou_from_parts(mantissa if positive else -mantissa, exponent, currency, issuer)
    if first & 0x20:
        flags = r.byte()
        value = int.from_bytes(r.take(8), "big")
        mpt_id = r.take(24)
        return MPT(value if flags & 0x40 else -value, mpt_id)
    raw = int.from_bytes(r.take(8), "big")
    drops = raw & 0x3FFFFFFFFFFFFFFF
    return drops if raw & 0x4000000000000000 else -drops


def _read_pathset(r: _Reader) -> list[list[dict[str, bytes]]]:
    paths: list[list[dict[str, bytes]]] = [[]]
    while True:
        kind = r.byte()
        if kind == 0x00:
            return paths
        if kind == 0xFF:
            paths.append([])
            continue
        step: dict[str, bytes] = {}
        if kind & 0x01:
            step["account"] = r.take(20)
        if kind & 0x10:
            step["currency"] = r.take(20)
        if kind & 0x20:
            step["issuer"] = r.take(20)
        if kind & 0x40:
            step["mpt_issuance_id"] = r.take(24)
        paths[-1].append(step)


def _read_value(r: _Reader, fd: FieldDef) -> Any:
    t = fd.type_name
    if t in _INT_TYPES:
        return int.from_bytes(r.take(_FIXED_SIZES[t]), "big")
    if t in _FIXED_SIZES:
        return r.take(_FIXED_SIZES[t])
    if t == "Amount":
        return _read_amount(r)
    if t in ("Blob", "AccountID"):
        return r.take(r.vl_length())
    if t == "Vector256":
        raw = r.take(r.vl_length())
        return [raw[i : i + 32] for i in range(0, len(raw), 32)]
    if t == "STObject":
        return _read_object(r, nested=True)[0]
    if t == "STArray":
        return _read_array(r)
    if t == "PathSet":
        return _read_pathset(r)
    if t == "Issue":
        currency = r.take(20)
        return (currency, r.take(20)) if any(currency) else (currency, b"")
    raise CodecError(f"unsupported field type {t}")


def _read_array(r: _Reader) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        if r.data[r.pos] == _ARRAY_END:
            r.pos += 1
            return items
        fd = _field_def(r.field_header())
        items.append({fd.name: _read_object(r, nested=True)[0]})


def _field_def(code: tuple[int, int]) -> FieldDef:
    fd = FIELDS_BY_CODE.get(code)
    if fd is None:
        raise CodecError(f"unknown field {code}")
    return fd


def _read_object(r: _Reader, nested: bool) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    fields: dict[str, Any] = {}
    spans: dict[str, tuple[int, int]] = {}
    while r.pos < len(r.data):
        if nested and r.data[r.pos] == _OBJECT_END:
            r.pos += 1
            return fields, spans
        start = r.pos
        fd = _field_def(r.field_header())
        if fd.name in fields:
            raise CodecError(f"duplicate field {fd.name}")
        fields[fd.name] = _read_value(r, fd)
        spans[fd.name] = (start, r.pos)
    if nested:
        raise CodecError("unterminated object")
    return fields, spans


def decode(blob: bytes) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """Decode a top-level object; returns (fields, byte span per field)."""
    try:
        return _read_object(_Reader(blob), nested=False)
    except IndexError as exc:
        raise CodecError("unexpected end of data") from exc


def signing_payload(blob: bytes, spans: dict[str, tuple[int, int]]) -> bytes:
    """The signed blob minus its non-signing fields (TxnSignature, Signers).

    Fields are serialized in canonical order, so cutting a field's bytes out of
    the blob yields exactly the canonical encoding without that field.
    """
    cuts = sorted(span for name, span in spans.items() if not FIELDS_BY_NAME[name].is_signing)
    if not cuts:
        return blob
    parts, pos = [], 0
    for start, end in cuts:
        parts.append(blob[pos:start])
        pos = end
    parts.append(blob[pos:])
    return b"".join(parts)

"""Secrets in the forms they could leak in, and a scanner that looks for every form in text,
bytes (and what they hold compressed: a PDF's streams), JSON documents and whole object graphs
(moto's backends), counting what it looked at."""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from xrpl.constants import CryptoAlgorithm
from xrpl.wallet import Wallet


@dataclass(frozen=True)
class Secret:
    label: str
    forms: tuple[str, ...]  # as text: the secret itself, hex (both cases), base64...
    raw: bytes  # the key bytes, for binary material

    @property
    def text_forms(self) -> tuple[str, ...]:
        return (*self.forms, self.raw.decode("latin-1"))  # raw bytes as documents show bytes

    @property
    def byte_forms(self) -> tuple[bytes, ...]:
        return (*(form.encode() for form in self.forms), self.raw)


def _key_forms(raw: bytes) -> tuple[str, ...]:
    return (
        raw.hex(),
        raw.hex().upper(),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    )


def investor_seed(investor_id: str, seed: str) -> Secret:
    """An investor's seed, and the ed25519 private key it gives (xrpl-py writes it ED + hex)."""
    wallet = Wallet.from_seed(seed, algorithm=CryptoAlgorithm.ED25519)
    raw = bytes.fromhex(wallet.private_key.removeprefix("ED").removeprefix("ed"))
    return Secret(f"seed of {investor_id}", (seed, wallet.private_key, *_key_forms(raw)), raw)


def kms_private_key(label: str, key: ec.EllipticCurvePrivateKey) -> Secret:
    """A KMS key's private scalar, raw and as PKCS#8 (DER in base64, and a PEM body line)."""
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem_first_line = base64.b64encode(der).decode()[:64]  # prefix and the scalar's start
    return Secret(label, (*_key_forms(raw), base64.b64encode(der).decode(), pem_first_line), raw)


def key_material(label: str, material: bytes) -> Secret:
    return Secret(label, _key_forms(material), material)


@dataclass
class Scan:
    """Looks for every form of every secret; counts what it looked at, by kind."""

    secrets: list[Secret]
    looked_at: Counter[str] = field(default_factory=Counter)
    found: list[str] = field(default_factory=list)

    def text(self, kind: str, where: str, text: str) -> None:
        self.looked_at[kind] += 1
        for secret in self.secrets:
            form = next((f for f in secret.text_forms if f in text), None)
            if form is not None:  # one finding per secret and place, in the first form seen
                self.found.append(f"{secret.label} ({form[:6]}…) in {where}")

    def data(self, kind: str, where: str, data: bytes) -> None:
        self.looked_at[kind] += 1
        for secret in self.secrets:
            if any(form in data for form in secret.byte_forms):
                self.found.append(f"{secret.label} in {where}")

    def stored(self, kind: str, where: str, data: bytes) -> None:
        """A stored object as it is, and each stream it holds compressed, as `kind inflated`."""
        self.data(kind, where, data)
        for number, inflated in enumerate(inflated_streams(data), 1):
            self.data(f"{kind} inflated", f"{where} (stream {number}, inflated)", inflated)

    def document(self, kind: str, where: str, document: Any) -> None:
        """A JSON-like document (an item, an event): its JSON text and every string in it."""
        self.text(kind, where, json.dumps(document, default=_as_text))

    def lines(self, kind: str, where: str, content: bytes) -> None:
        for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), 1):
            self.text(kind, f"{where}:{number}", line)

    def objects(self, kind: str, where: str, root: Any) -> None:
        """Every string and byte string reachable from `root` (moto's backends)."""
        for value in _reachable_values(root):
            if isinstance(value, str):
                self.text(kind, where, value)
            else:
                self.data(kind, where, value)


_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def inflated_streams(data: bytes) -> list[bytes]:
    """The Flate-compressed streams of a PDF, inflated (fpdf2 compresses each page's text)."""
    found = []
    for match in _STREAM.finditer(data) if data.startswith(b"%PDF") else ():
        try:
            found.append(zlib.decompress(match.group(1)))
        except zlib.error:  # a stream kept as it is: already scanned with the whole
            continue
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")  # one character per byte: raw keys stay findable
    return str(value)


_LEAVES = (int, float, complex, bool, type(None), Decimal, datetime, date)
_SKIPPED = (type, ModuleType, FunctionType, BuiltinFunctionType, MethodType)


def _reachable_values(root: Any) -> Iterator[str | bytes]:
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen or isinstance(node, _LEAVES + _SKIPPED):
            continue
        seen.add(id(node))
        if isinstance(node, str):
            yield node
        elif isinstance(node, (bytes, bytearray, memoryview)):
            yield bytes(node)
        elif isinstance(node, dict):
            pending.extend(node.keys())
            pending.extend(node.values())
        elif isinstance(node, (list, tuple, set, frozenset, deque)):
            pending.extend(node)
        else:
            pending.extend(_attributes(node))


def _attributes(node: Any) -> list[Any]:
    values = list(getattr(node, "__dict__", {}).values())
    for cls in type(node).__mro__:
        slots = getattr(cls, "__slots__", ())
        for slot in [slots] if isinstance(slots, str) else slots:
            if slot not in ("__dict__", "__weakref__") and hasattr(node, slot):
                values.append(getattr(node, slot))
    return values

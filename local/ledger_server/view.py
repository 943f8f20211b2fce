"""Ledger state views and transaction metadata, after rippled's OpenView/ApplyStateTable.

State entries (SLEs) are plain dicts of decoded field values and are treated as
immutable once stored: writers copy, change, then ``update``. That makes a
closed-ledger snapshot a cheap shallow dict copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from local.ledger_server import keylets
from local.ledger_server.codec import LEDGER_ENTRY_TYPES

SLE = dict[str, Any]

LT_ACCOUNT_ROOT = LEDGER_ENTRY_TYPES["AccountRoot"]
LT_DIR_NODE = LEDGER_ENTRY_TYPES["DirectoryNode"]
LT_RIPPLE_STATE = LEDGER_ENTRY_TYPES["RippleState"]
LT_TICKET = LEDGER_ENTRY_TYPES["Ticket"]
LT_MPT_ISSUANCE = LEDGER_ENTRY_TYPES["MPTokenIssuance"]
LT_MPTOKEN = LEDGER_ENTRY_TYPES["MPToken"]

# Entry types that carry PreviousTxnID/PreviousTxnLgrSeq ("threaded" in rippled).
THREADED_TYPES = frozenset(
    {LT_ACCOUNT_ROOT, LT_RIPPLE_STATE, LT_TICKET, LT_MPT_ISSUANCE, LT_MPTOKEN}
)
# Field metadata classes (rippled SField sMD_* flags) that differ from the default.
_NEVER_IN_META = frozenset({"LedgerEntryType", "Indexes"})
_DELETE_FINAL_ONLY = frozenset({"PreviousTxnID", "PreviousTxnLgrSeq"})
_ALWAYS = frozenset({"RootIndex"})
DIR_PAGE_SIZE = 32


@dataclass(frozen=True, slots=True)
class Fees:
    base: int
    reserve_base: int
    reserve_inc: int

    def reserve(self, owner_count: int) -> int:
        return self.reserve_base + owner_count * self.reserve_inc


class OpenView:
    """A ledger under construction: a delta over an immutable parent state."""

    def __init__(self, parent: dict[bytes, SLE], seq: int, fees: Fees, is_open: bool) -> None:
        self.parent = parent
        self.delta: dict[bytes, SLE | None] = {}
        self.seq = seq
        self.fees = fees
        self.is_open = is_open
        self.tx_ids: set[bytes] = set()
        self.tx_count = 0
        self.drops_destroyed = 0

    def read(self, key: bytes) -> SLE | None:
        if key in self.delta:
            return self.delta[key]
        return self.parent.get(key)

    def materialize(self) -> dict[bytes, SLE]:
        state = self.parent.copy()
        for key, sle in self.delta.items():
            if sle is None:
                state.pop(key, None)
            else:
                state[key] = sle
        return state


class TxView:
    """Changes made by one transaction on top of an OpenView (rippled's ApplyView)."""

    def __init__(self, base: OpenView) -> None:
        self.base = base
        self.changes: dict[bytes, SLE | None] = {}
        self.originals: dict[bytes, SLE | None] = {}
        self.erased: dict[bytes, SLE] = {}  # value at deletion, for DeletedNode FinalFields

    @property
    def seq(self) -> int:
        return self.base.seq

    @property
    def fees(self) -> Fees:
        return self.base.fees

    def read(self, key: bytes) -> SLE | None:
        if key in self.changes:
            return self.changes[key]
        return self.base.read(key)

    def peek(self, key: bytes) -> SLE | None:
        """A private copy to modify and hand back with update()."""
        sle = self.read(key)
        return dict(sle) if sle is not None else None

    def _touch(self, key: bytes) -> None:
        if key not in self.originals:
            self.originals[key] = self.base.read(key)

    def insert(self, key: bytes, sle: SLE) -> None:
        self._touch(key)
        self.changes[key] = sle

    def update(self, key: bytes, sle: SLE) -> None:
        self._touch(key)
        self.changes[key] = sle

    def erase(self, key: bytes) -> None:
        self._touch(key)
        current = self.read(key)
        if current is not None:
            self.erased[key] = current
        self.changes[key] = None

    def reset(self) -> None:
        self.changes.clear()
        self.originals.clear()
        self.erased.clear()


# --- owner directories ------------------------------------------------------


def dir_add(view: TxView, owner: bytes, key: bytes) -> int:
    """Add key to owner's directory (rippled dirInsert); returns the page number.

    Keys go to the last page, which is kept sorted (preserveOrder=false); a full
    page (32 keys) starts a new one.
    """
    root_key = keylets.owner_dir(owner)
    root = view.peek(root_key)
    if root is None:
        view.insert(
            root_key,
            {
                "LedgerEntryType": LT_DIR_NODE,
                "Flags": 0,
                "Owner": owner,
                "RootIndex": root_key,
                "Indexes": [key],
            },
        )
        return 0
    last_page = root.get("IndexPrevious", 0)
    last_key = keylets.dir_page(root_key, last_page)
    last = root if last_page == 0 else view.peek(last_key)
    assert last is not None
    if len(last["Indexes"]) < DIR_PAGE_SIZE:
        last["Indexes"] = sorted([*last["Indexes"], key])
        view.update(last_key, last)
        return last_page
    new_page = last_page + 1
    new_key = keylets.dir_page(root_key, new_page)
    last["IndexNext"] = new_page
    view.update(last_key, last)
    if last_page != 0:
        root = view.peek(root_key)
        assert root is not None
    root["IndexPrevious"] = new_page
    view.update(root_key, root)
    page: SLE = {
        "LedgerEntryType": LT_DIR_NODE,
        "Flags": 0,
        "Owner": owner,
        "RootIndex": root_key,
        "Indexes": [key],
    }
    if last_page != 0:
        page["IndexPrevious"] = last_page
    view.insert(new_key, page)
    return new_page


def dir_remove(view: TxView, owner: bytes, page: int, key: bytes, keep_root: bool = False) -> bool:
    """Remove key from the given page; drop pages that become empty (ApplyView::dirRemove).

    keep_root leaves an emptied root page in place, as ticketDelete asks for.
    """
    root_key = keylets.owner_dir(owner)
    page_key = keylets.dir_page(root_key, page)
    node = view.peek(page_key)
    if node is None or key not in node["Indexes"]:
        return False
    node["Indexes"] = [k for k in node["Indexes"] if k != key]
    if node["Indexes"]:
        view.update(page_key, node)
        return True
    if page == 0:
        if node.get("IndexNext", 0) == 0 and not keep_root:
            view.erase(page_key)  # empty owner directory disappears
        else:
            view.update(page_key, node)
        return True
    _unlink_page(view, root_key, page, node, keep_root)
    return True


def _unlink_page(view: TxView, root_key: bytes, page: int, node: SLE, keep_root: bool) -> None:
    prev_page = node.get("IndexPrevious", 0)
    next_page = node.get("IndexNext", 0)
    prev = view.peek(keylets.dir_page(root_key, prev_page))
    assert prev is not None
    _set_link(prev, "IndexNext", next_page)
    view.update(keylets.dir_page(root_key, prev_page), prev)
    root = view.peek(root_key)
    assert root is not None
    nxt = view.peek(keylets.dir_page(root_key, next_page)) if next_page else root
    assert nxt is not None
    _set_link(nxt, "IndexPrevious", prev_page)
    view.update(keylets.dir_page(root_key, next_page), nxt)
    view.erase(keylets.dir_page(root_key, page))
    root = view.peek(root_key)
    assert root is not None
    if not keep_root and not root["Indexes"] and root.get("IndexNext", 0) == 0:
        view.erase(root_key)


def _set_link(node: SLE, field: str, value: int) -> None:
    if value:
        node[field] = value
    else:
        node.pop(field, None)


def dir_entries(view: OpenView | TxView | dict[bytes, SLE], owner: bytes) -> list[bytes]:
    """All keys in an owner directory, in directory order."""
    read = view.get if isinstance(view, dict) else view.read
    root_key = keylets.owner_dir(owner)
    out: list[bytes] = []
    page = 0
    while True:
        node = read(keylets.dir_page(root_key, page))
        if node is None:
            return out
        out.extend(node["Indexes"])
        page = node.get("IndexNext", 0)
        if page == 0:
            return out


def adjust_owner_count(view: TxView, account_id: bytes, delta: int) -> None:
    key = keylets.account(account_id)
    sle = view.peek(key)
    assert sle is not None
    sle["OwnerCount"] = max(0, sle["OwnerCount"] + delta)
    view.update(key, sle)


# --- metadata ---------------------------------------------------------------


def _is_default(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value == 0
    if isinstance(value, bytes):
        return not any(value)
    if isinstance(value, (list, dict)):
        return not value
    return False  # IOU/MPT amounts: rippled only treats native zero as default


def _meta_fields(sle: SLE, include_thread: bool) -> SLE:
    return {
        k: v
        for k, v in sle.items()
        if k not in _NEVER_IN_META and (include_thread or k not in _DELETE_FINAL_ONLY)
    }


def _owner_accounts(sle: SLE) -> list[bytes]:
    owners = []
    if "Account" in sle:
        owners.append(sle["Account"])
    if "HighLimit" in sle:
        owners.append(sle["HighLimit"].issuer)
        owners.append(sle["LowLimit"].issuer)
    return owners


def build_metadata(view: TxView, tx_id: bytes, ledger_seq: int) -> list[tuple[bytes, str, SLE]]:
    """Thread entries and describe every touched entry (rippled ApplyStateTable::apply).

    Returns sorted (key, node type, node body) tuples and rewrites threaded
    entries in ``view.changes`` with PreviousTxnID/PreviousTxnLgrSeq.
    """
    nodes: dict[bytes, tuple[str, SLE]] = {}
    thread_only: set[bytes] = set()
    for key in sorted(view.changes):
        before, after = view.originals[key], view.changes[key]
        if before is None and after is None:
            continue
        if after is None:
            assert before is not None
            for owner in _owner_accounts(before):
                _thread_owner(view, owner, thread_only)
        elif before is None:
            for owner in _owner_accounts(after):
                _thread_owner(view, owner, thread_only)
    prev_threads: dict[bytes, tuple[bytes, int]] = {}
    for key in sorted(view.changes):
        before, after = view.originals[key], view.changes[key]
        if after is not None and after["LedgerEntryType"] in THREADED_TYPES:
            old = (after.get("PreviousTxnID", b"\x00" * 32), after.get("PreviousTxnLgrSeq", 0))
            if old[0] != tx_id:
                prev_threads[key] = old
                view.changes[key] = {
                    **after,
                    "PreviousTxnID": tx_id,
                    "PreviousTxnLgrSeq": ledger_seq,
                }
    for key in sorted(view.changes):
        node = _describe(view, key, thread_only, prev_threads)
        if node is not None:
            nodes[key] = node
    return [(key, kind, body) for key, (kind, body) in sorted(nodes.items())]


def _thread_owner(view: TxView, owner: bytes, thread_only: set[bytes]) -> None:
    key = keylets.account(owner)
    if key in view.changes:
        return
    sle = view.read(key)
    if sle is None:
        return
    view.update(key, dict(sle))
    thread_only.add(key)


def _describe(
    view: TxView,
    key: bytes,
    thread_only: set[bytes],
    prev_threads: dict[bytes, tuple[bytes, int]],
) -> tuple[str, SLE] | None:
    before, after = view.originals[key], view.changes[key]
    if before is None and after is None:
        return None
    entry_type = (after or before or {})["LedgerEntryType"]
    body: SLE = {"LedgerEntryType": entry_type, "LedgerIndex": key}
    if before is None:
        assert after is not None
        body["NewFields"] = {
            k: v for k, v in _meta_fields(after, False).items() if not _is_default(v)
        }
        return "CreatedNode", body
    if after is None:
        final = view.erased.get(key, before)
        prevs = _changed_fields(before, final)
        body["FinalFields"] = _meta_fields(final, True)
        if prevs:
            body["PreviousFields"] = prevs
        return "DeletedNode", body
    prev = prev_threads.get(key)
    if prev is not None and any(prev[0]):
        body["PreviousTxnID"] = prev[0]
        body["PreviousTxnLgrSeq"] = prev[1]
    if key in thread_only:
        return "ModifiedNode", body
    prevs = _changed_fields(before, after)
    if prevs:
        body["PreviousFields"] = prevs
    body["FinalFields"] = _meta_fields(after, False)
    return "ModifiedNode", body


def _changed_fields(before: SLE, after: SLE) -> SLE:
    return {
        k: v
        for k, v in _meta_fields(before, False).items()
        if k not in _ALWAYS and after.get(k, _MISSING) != v
    }


_MISSING = object()

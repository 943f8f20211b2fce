"""Ledger chain: open ledger, canonical close, validated history, local transactions.

Close follows rippled's consensus build (BuildLedger.cpp applyTransactions):
the candidate set is ordered by CanonicalTXSet (account XOR salt, then
sequence/ticket, then id), applied to the last closed state in up to three
passes (tec counts as retry in the first two), and what still says ter is
carried into the next open ledger. A closed ledger is validated immediately.

Submitted transactions follow NetworkOPs::apply: every one is kept as a local
transaction (LocalTxs) and re-applied to each new open ledger until it is in a
validated ledger, its sequence or ticket is gone, or it expires; a tesSUCCESS
pops the account's next waiting transaction into the same open ledger
(CanonicalTXSet::popAcctTransaction). Everything received is also remembered
for `tx` the way rippled's TransactionMaster cache does.

Thread safety: every public method, and every RPC (see rpc.dispatch), runs
under ``lock``, so a close on another thread is seen all at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.ledger_server import keylets
from local.ledger_server.amounts import MAX_XRP_DROPS
from local.ledger_server.crypto import PREFIX_INNER_NODE, PREFIX_LEDGER, decode_address, sha512half
from local.ledger_server.engine import HANDLERS, Outcome, apply_transaction
from local.ledger_server.tx import Tx
from local.ledger_server.view import LT_ACCOUNT_ROOT, SLE, Fees, OpenView, TxView, build_metadata

GENESIS_ADDRESS = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"
RIPPLE_EPOCH = 946684800
CLOSE_RESOLUTION = 10
TOTAL_PASSES = 3
RETRY_PASSES = 1
HOLD_LEDGERS = 5  # LocalTxs::holdLedgers
CACHE_SECONDS = 30 * 60  # TransactionMaster's TaggedCache target age
STATE_CACHE = 256  # recent ledgers kept whole; older ones are rebuilt from checkpoints
CHECKPOINT = 256  # a whole state every this many ledgers, and each ledger's delta
ZERO32 = b"\x00" * 32


@dataclass(slots=True)
class TxRecord:
    """A transaction in a validated ledger, with its metadata."""

    tx: Tx
    ledger_index: int
    tx_index: int
    result: str
    nodes: list[tuple[bytes, str, SLE]]
    delivered: Any = None
    extra_meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class LedgerHeader:
    seq: int
    hash: bytes
    parent_hash: bytes
    account_hash: bytes
    transaction_hash: bytes
    close_time: int
    parent_close_time: int
    total_coins: int
    tx_hashes: list[bytes]
    close_time_resolution: int = CLOSE_RESOLUTION


@dataclass(slots=True)
class SubmitResult:
    result: str
    applied: bool
    kept: bool
    queued: bool = False


@dataclass(slots=True)
class _Local:
    """A locally submitted transaction (rippled LocalTx): retried until it expires."""

    tx: Tx
    expire: int  # last validated ledger index that still keeps it


def _local_expiry(tx: Tx, open_seq: int) -> int:
    expire = open_seq + HOLD_LEDGERS
    lls = tx.last_ledger
    return expire if lls is None else min(expire, lls + 1)


class Chain:
    """All ledger state; every public method is thread-safe."""

    def __init__(self, fees: Fees, store: Any = None, history: int | None = None) -> None:
        """`history`: how many recent ledgers this server can answer for (rippled's
        [ledger_history]); None keeps every ledger since it began, as a full-history server."""
        self.fees = fees
        self.history = history
        self.lock = threading.RLock()
        self.store = store
        self.headers: dict[int, LedgerHeader] = {}
        self.states: dict[int, dict[bytes, SLE]] = {}
        self.checkpoints: dict[int, dict[bytes, SLE]] = {}
        self.deltas: dict[int, dict[bytes, SLE | None]] = {}
        self._rebuilt: dict[int, dict[bytes, SLE]] = {}
        self.txs: dict[bytes, TxRecord] = {}
        self.account_txs: dict[bytes, list[tuple[int, int, bytes]]] = {}
        self.local: dict[bytes, _Local] = {}
        self.waiting: dict[bytes, dict[bytes, Tx]] = {}  # account -> local txs not yet applied
        self.received: dict[bytes, tuple[Tx, float]] = {}
        self.listeners: list[Callable[[LedgerHeader], None]] = []
        self.stopped = False
        self.closed_at = time.monotonic()  # when the last ledger closed: server_info's age
        if store is None or not store.load(self):
            self._genesis()
            if store is not None:
                store.save_genesis(self)
        self.open = self._new_open(self.last_closed.seq)
        self.open_txs: list[tuple[Tx, Outcome]] = []

    # --- construction -------------------------------------------------------

    def _genesis(self) -> None:
        genesis_id = decode_address(GENESIS_ADDRESS)
        state: dict[bytes, SLE] = {
            keylets.account(genesis_id): {
                "LedgerEntryType": LT_ACCOUNT_ROOT,
                "Flags": 0,
                "Account": genesis_id,
                "Sequence": 1,
                "Balance": MAX_XRP_DROPS,
                "OwnerCount": 0,
                "PreviousTxnID": ZERO32,
                "PreviousTxnLgrSeq": 0,
            }
        }
        now = _ripple_now()
        first = self._make_header(1, ZERO32, state, [], 0, now, MAX_XRP_DROPS)
        self._store_closed(first, state, [])
        # Like rippled's startGenesisLedger: ledger 2 is built on genesis right away.
        second = self._make_header(2, first.hash, state, [], first.close_time, now, MAX_XRP_DROPS)
        self._store_closed(second, state, [])

    def _new_open(self, closed_seq: int) -> OpenView:
        return OpenView(self.states[closed_seq], closed_seq + 1, self.fees, is_open=True)

    @property
    def last_closed(self) -> LedgerHeader:
        return self.headers[max(self.headers)]

    @property
    def current_index(self) -> int:
        return self.open.seq

    # --- submit -------------------------------------------------------------

    def submit(self, tx: Tx, fail_hard: bool = False) -> SubmitResult:
        """Apply to the open ledger as NetworkOPs::apply does for a local submission."""
        with self.lock:
            self.received[tx.hash] = (tx, time.monotonic())
            outcome = self._apply_open(tx, fail_hard)
            if outcome.result == "tesSUCCESS":
                self._pop_successors(tx)
            if fail_hard and outcome.result != "tesSUCCESS":
                return SubmitResult(outcome.result, applied=False, kept=False)
            self.local.setdefault(tx.hash, _Local(tx, _local_expiry(tx, self.open.seq)))
            if not outcome.applied:
                self.waiting.setdefault(tx.account, {})[tx.hash] = tx
            return SubmitResult(outcome.result, applied=outcome.applied, kept=True)

    def _apply_open(self, tx: Tx, fail_hard: bool = False) -> Outcome:
        outcome = apply_transaction(
            self.open, tx, HANDLERS.get(tx.tx_type), retry_assured=False, fail_hard=fail_hard
        )
        if outcome.applied:
            self._commit(self.open, tx, outcome, len(self.open_txs))
            self.open_txs.append((tx, outcome))
            waiting = self.waiting.get(tx.account)
            if waiting is not None:
                waiting.pop(tx.hash, None)
        return outcome

    def _pop_successors(self, tx: Tx) -> None:
        """After a tesSUCCESS, apply the account's next waiting transaction, and so on."""
        last = tx
        while (nxt := self._next_waiting(last)) is not None:
            if self._apply_open(nxt).result != "tesSUCCESS":
                return
            last = nxt

    def _next_waiting(self, last: Tx) -> Tx | None:
        """CanonicalTXSet::popAcctTransaction: the lowest waiting SeqProxy >= last's, taken
        when it is a ticket or the very next sequence."""
        waiting = [
            tx
            for tx in self.waiting.get(last.account, {}).values()
            if tx.seq_proxy >= last.seq_proxy and tx.hash != last.hash
        ]
        if not waiting:
            return None
        first = min(waiting, key=lambda t: (t.seq_proxy, t.hash))
        if first.uses_ticket or (first.sequence == last.sequence + 1 and not last.uses_ticket):
            return first
        return None

    def _commit(
        self, view: OpenView, tx: Tx, outcome: Outcome, tx_index: int
    ) -> list[tuple[bytes, str, SLE]]:
        tv = outcome.view
        assert tv is not None
        nodes = build_metadata(tv, tx.hash, view.seq)
        view.delta.update(tv.changes)
        view.tx_ids.add(tx.hash)
        view.tx_count += 1
        view.drops_destroyed += outcome.fee
        return nodes

    # --- close --------------------------------------------------------------

    def close(self) -> LedgerHeader:
        """Close and validate the open ledger; readers see all of it or none of it."""
        with self.lock:
            if self.stopped:
                raise RuntimeError("the local ledger is stopped")
            parent = self.last_closed
            candidates = [tx for tx, _ in self.open_txs]
            salt = tx_set_hash(tx.hash for tx in candidates)
            ordered = canonical_order(candidates, salt)
            build = OpenView(self.states[parent.seq], parent.seq + 1, self.fees, is_open=False)
            records, retries = self._apply_passes(build, ordered)
            state = build.materialize()
            now = max(_ripple_now(), parent.close_time + 1)
            header = self._make_header(
                build.seq,
                parent.hash,
                state,
                [r.tx.hash for r in records],
                parent.close_time,
                now,
                parent.total_coins - build.drops_destroyed,
                changed=build.delta,
                parent_account_hash=parent.account_hash,
            )
            if self.store is not None:
                self.store.save_ledger(header, build.delta, records)
            self._store_closed(header, state, records, build.delta)
            self.closed_at = time.monotonic()
            self._open_next(retries)
            self._sweep_local(state, header.seq)
            for listener in self.listeners:
                listener(header)  # under the lock: subscribers see closes in order
        return header

    def _apply_passes(self, build: OpenView, ordered: list[Tx]) -> tuple[list[TxRecord], list[Tx]]:
        records: list[TxRecord] = []
        pending = list(ordered)
        certain_retry = True
        for pass_no in range(TOTAL_PASSES):
            changes = 0
            still: list[Tx] = []
            for tx in pending:
                outcome = apply_transaction(
                    build, tx, HANDLERS.get(tx.tx_type), retry_assured=certain_retry
                )
                if outcome.applied:
                    nodes = self._commit(build, tx, outcome, len(records))
                    records.append(
                        TxRecord(
                            tx,
                            build.seq,
                            len(records),
                            outcome.result,
                            nodes,
                            outcome.delivered,
                            outcome.extra_meta,
                        )
                    )
                    changes += 1
                elif not _is_hard_fail(outcome.result):
                    still.append(tx)
            pending = still
            if changes == 0 and not certain_retry:
                break
            if changes == 0 or pass_no >= RETRY_PASSES:
                certain_retry = False
        return records, pending

    def _open_next(self, retries: list[Tx]) -> None:
        """OpenLedger::accept: consensus retries first, then the local transactions."""
        self.open = self._new_open(self.last_closed.seq)
        self.open_txs = []
        self.waiting = {}
        locals_ = [e.tx for e in self.local.values() if e.tx.hash not in self.txs]
        for batch in (retries, locals_):
            for tx in canonical_order(batch, ZERO32):
                if tx.hash in self.txs or tx.hash in self.open.tx_ids:
                    continue
                if not self._apply_open(tx).applied and tx.hash in self.local:
                    self.waiting.setdefault(tx.account, {})[tx.hash] = tx

    def _sweep_local(self, state: dict[bytes, SLE], validated: int) -> None:
        """LocalTxs::sweep against the newly validated ledger."""
        self.local = {
            key: entry
            for key, entry in self.local.items()
            if not _swept(entry, state, validated, self.txs)
        }
        for waiting in self.waiting.values():
            for key in [k for k in waiting if k not in self.local]:
                del waiting[key]
        oldest = time.monotonic() - CACHE_SECONDS
        self.received = {
            key: seen
            for key, seen in self.received.items()
            if seen[1] >= oldest and key not in self.txs
        }

    def cached_tx(self, tx_hash: bytes) -> Tx | None:
        """A received transaction not in a validated ledger (TransactionMaster cache)."""
        with self.lock:
            seen = self.received.get(tx_hash)
            if seen is None or seen[1] < time.monotonic() - CACHE_SECONDS:
                return None
            return seen[0]

    def stop(self) -> None:
        """Refuse further closes and close the store (waits for a close in progress)."""
        with self.lock:
            self.stopped = True
            if self.store is not None:
                self.store.close()
                self.store = None

    # --- bookkeeping --------------------------------------------------------

    def _make_header(
        self,
        seq: int,
        parent_hash: bytes,
        state: dict[bytes, SLE],
        tx_hashes: list[bytes],
        parent_close_time: int,
        close_time: int,
        total_coins: int,
        changed: dict[bytes, SLE | None] | None = None,
        parent_account_hash: bytes = ZERO32,
    ) -> LedgerHeader:
        account_hash = _state_digest(parent_account_hash, changed if changed is not None else state)
        transaction_hash = tx_set_hash(tx_hashes) if tx_hashes else ZERO32
        body = (
            PREFIX_LEDGER
            + seq.to_bytes(4, "big")
            + total_coins.to_bytes(8, "big")
            + parent_hash
            + transaction_hash
            + account_hash
            + parent_close_time.to_bytes(4, "big")
            + close_time.to_bytes(4, "big")
            + bytes([CLOSE_RESOLUTION, 0])
        )
        return LedgerHeader(
            seq,
            sha512half(body),
            parent_hash,
            account_hash,
            transaction_hash,
            close_time,
            parent_close_time,
            total_coins,
            tx_hashes,
        )

    def _store_closed(
        self,
        header: LedgerHeader,
        state: dict[bytes, SLE],
        records: list[TxRecord],
        delta: dict[bytes, SLE | None] | None = None,
    ) -> None:
        # Transactions first, then the header: a validated ledger never hides its txs.
        for record in records:
            self.index_record(record)
        self.states[header.seq] = state
        if delta is None or header.seq % CHECKPOINT == 0:
            self.checkpoints[header.seq] = state
        if delta is not None:
            self.deltas[header.seq] = delta
        self.headers[header.seq] = header
        self.states.pop(header.seq - STATE_CACHE, None)
        if self.history is not None:
            self._forget_before(self.earliest_kept())

    def _forget_before(self, earliest: int) -> None:
        base = max(s for s in self.checkpoints if s <= earliest)  # what rebuilds `earliest`
        for old in [s for s in self.checkpoints if s < base]:
            del self.checkpoints[old]
        for old in [s for s in self.deltas if s <= base]:
            del self.deltas[old]
        for old in [s for s in self._rebuilt if s < earliest]:
            del self._rebuilt[old]

    def earliest_kept(self) -> int:
        """The oldest ledger whose state this server can still read (complete_ledgers)."""
        if not self.checkpoints:
            return max(self.headers)
        first = min(self.checkpoints)
        if self.history is None:
            return first
        return max(first, max(self.headers) - self.history + 1)

    def index_record(self, record: TxRecord) -> None:
        self.txs[record.tx.hash] = record
        for account in affected_accounts(record):
            self.account_txs.setdefault(account, []).append(
                (record.ledger_index, record.tx_index, record.tx.hash)
            )

    def state_at(self, seq: int) -> dict[bytes, SLE] | None:
        with self.lock:
            if seq not in self.headers or seq < self.earliest_kept():
                return None
            if seq in self.states:
                return self.states[seq]
            if seq not in self._rebuilt:
                self._rebuilt = dict(list(self._rebuilt.items())[-7:])  # a few, for repeat reads
                self._rebuilt[seq] = self._rebuild(seq)
            return self._rebuilt[seq]

    def _rebuild(self, seq: int) -> dict[bytes, SLE]:
        base = max(s for s in self.checkpoints if s <= seq)
        state = self.checkpoints[base].copy()
        for later in range(base + 1, seq + 1):
            for key, sle in self.deltas[later].items():
                if sle is None:
                    state.pop(key, None)
                else:
                    state[key] = sle
        return state

    def read_open(self, key: bytes) -> SLE | None:
        with self.lock:
            return self.open.read(key)

    def open_tx_view(self) -> TxView:
        return TxView(self.open)


def _is_hard_fail(result: str) -> bool:
    return result[:3] in ("tef", "tem", "tel")


def _swept(entry: _Local, state: dict[bytes, SLE], validated: int, txs: dict[bytes, Any]) -> bool:
    tx = entry.tx
    if validated > entry.expire or tx.hash in txs:
        return True
    account = state.get(keylets.account(tx.account))
    if account is None:
        return False
    if not tx.uses_ticket:
        return bool(account["Sequence"] > tx.sequence)
    ticket = tx.ticket or 0
    if account["Sequence"] <= ticket:
        return False  # a ticket from the future
    return keylets.ticket(tx.account, ticket) not in state


def _ripple_now() -> int:
    return int(time.time()) - RIPPLE_EPOCH


def ripple_time_iso(ripple_time: int) -> str:
    return datetime.fromtimestamp(ripple_time + RIPPLE_EPOCH, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ripple_time_human(ripple_time: int) -> str:
    moment = datetime.fromtimestamp(ripple_time + RIPPLE_EPOCH, UTC)
    return moment.strftime("%Y-%b-%d %H:%M:%S.000000000 UTC")


def tx_set_hash(tx_ids: Iterable[bytes]) -> bytes:
    """Root hash of a transaction-set SHAMap (leaf hash = tx id; inner = MIN + 16 children)."""
    ids = sorted(tx_ids)
    if not ids:
        return ZERO32
    return _inner_hash(ids, 0)


def _inner_hash(ids: list[bytes], depth: int) -> bytes:
    branches: list[list[bytes]] = [[] for _ in range(16)]
    for tx_id in ids:
        byte = tx_id[depth // 2]
        nibble = byte >> 4 if depth % 2 == 0 else byte & 0x0F
        branches[nibble].append(tx_id)
    children = []
    for branch in branches:
        if not branch:
            children.append(ZERO32)
        elif len(branch) == 1:
            children.append(branch[0])
        else:
            children.append(_inner_hash(branch, depth + 1))
    return sha512half(PREFIX_INNER_NODE + b"".join(children))


def canonical_order(txs: list[Tx], salt: bytes) -> list[Tx]:
    """rippled CanonicalTXSet order: (account ^ salt, SeqProxy, tx id)."""
    salt_int = int.from_bytes(salt, "big")

    def key(tx: Tx) -> tuple[int, tuple[int, int], bytes]:
        account_key = int.from_bytes(tx.account.ljust(32, b"\x00"), "big") ^ salt_int
        return (account_key, tx.seq_proxy, tx.hash)

    return sorted(txs, key=key)


def _state_digest(parent: bytes, entries: dict[bytes, SLE | None] | dict[bytes, SLE]) -> bytes:
    """Stand-in for the state map root: chains the parent digest with this ledger's changes."""
    parts = [parent]
    for key in sorted(entries):
        parts.append(key + repr(entries[key]).encode())
    return sha512half(b"".join(parts))


def affected_accounts(record: TxRecord) -> set[bytes]:
    """Accounts a transaction touched, for account_tx (rippled getAffectedAccounts)."""
    accounts = {record.tx.account}
    dst = record.tx.get("Destination")
    if dst:
        accounts.add(dst)
    for _key, _kind, body in record.nodes:
        for group in ("NewFields", "FinalFields", "PreviousFields"):
            fields = body.get(group)
            if not fields:
                continue
            for name in ("Account", "Owner", "Issuer", "Destination", "RegularKey"):
                value = fields.get(name)
                if isinstance(value, bytes) and len(value) == 20:
                    accounts.add(value)
            for name in ("LowLimit", "HighLimit"):
                limit = fields.get(name)
                if limit is not None:
                    accounts.add(limit.issuer)
    return accounts

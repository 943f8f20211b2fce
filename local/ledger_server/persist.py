"""Validated-ledger persistence in SQLite (``--data-dir``).

Each close writes the ledger header, the state entries it changed and its
transactions with metadata, in one SQLite transaction, so a restart resumes
from the last validated ledger. Values are pickled: the file is private to
this process and only ever read back by the same code.
"""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.ledger_server.chain import Chain, LedgerHeader, TxRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledgers (seq INTEGER PRIMARY KEY, header BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entries (key BLOB PRIMARY KEY, sle BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
    hash BLOB PRIMARY KEY, ledger_index INTEGER NOT NULL, tx_index INTEGER NOT NULL,
    record BLOB NOT NULL
);
"""


class SqliteStore:
    def __init__(self, data_dir: str | Path) -> None:
        path = Path(data_dir)
        path.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path / "ledger.sqlite3", check_same_thread=False)
        self.db.executescript(_SCHEMA)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")

    def load(self, chain: Chain) -> bool:
        """Fill chain from disk; False when the store is empty."""
        rows = self.db.execute("SELECT header FROM ledgers ORDER BY seq").fetchall()
        if not rows:
            return False
        for (blob,) in rows:
            header: LedgerHeader = pickle.loads(blob)
            chain.headers[header.seq] = header
        state = {
            bytes(k): pickle.loads(v) for k, v in self.db.execute("SELECT key, sle FROM entries")
        }
        # Only the latest state is on disk: history begins again at the reloaded ledger.
        chain.states[chain.last_closed.seq] = chain.checkpoints[chain.last_closed.seq] = state
        query = "SELECT record FROM txs ORDER BY ledger_index, tx_index"
        for (blob,) in self.db.execute(query):
            record: TxRecord = pickle.loads(blob)
            chain.index_record(record)
        return True

    def save_ledger(
        self, header: LedgerHeader, delta: dict[bytes, Any], records: list[TxRecord]
    ) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO ledgers VALUES (?, ?)", (header.seq, pickle.dumps(header))
            )
            for key, sle in delta.items():
                if sle is None:
                    self.db.execute("DELETE FROM entries WHERE key = ?", (key,))
                else:
                    self.db.execute(
                        "INSERT OR REPLACE INTO entries VALUES (?, ?)", (key, pickle.dumps(sle))
                    )
            self.db.executemany(
                "INSERT OR REPLACE INTO txs VALUES (?, ?, ?, ?)",
                [(r.tx.hash, r.ledger_index, r.tx_index, pickle.dumps(r)) for r in records],
            )

    def save_genesis(self, chain: Chain) -> None:
        with self.db:
            for header in chain.headers.values():
                self.db.execute(
                    "INSERT OR REPLACE INTO ledgers VALUES (?, ?)",
                    (header.seq, pickle.dumps(header)),
                )
            state = chain.states[chain.last_closed.seq]
            self.db.executemany(
                "INSERT OR REPLACE INTO entries VALUES (?, ?)",
                [(k, pickle.dumps(v)) for k, v in state.items()],
            )

    def close(self) -> None:
        self.db.close()

"""Drexfy's local XRPL ledger: a rippled-compatible JSON-RPC/WebSocket server.

Usage from Python::

    from local.ledger_server import LocalLedger

    with LocalLedger() as ledger:          # standalone: close with close_ledger()
        client = JsonRpcClient(ledger.rpc_url)
        ...
        ledger.close_ledger()
        ledger.rpc_urls                    # the same chain on two JSON-RPC ports
        ledger.lie(ledger.second_rpc_url, "result")   # one of them lying (lies.py)

See docs/local-ledger.md.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import TracebackType

from local.ledger_server.chain import GENESIS_ADDRESS, Chain, LedgerHeader
from local.ledger_server.persist import SqliteStore
from local.ledger_server.server import LedgerServer
from local.ledger_server.view import Fees

GENESIS_SEED = "snoPBrXtMeMyMHUVTgbuqAfg1SUTb"

__all__ = ["GENESIS_ADDRESS", "GENESIS_SEED", "LocalLedger", "build_chain"]


def build_chain(
    base_reserve: int = 1_000_000,
    owner_reserve: int = 200_000,
    base_fee: int = 10,
    data_dir: str | Path | None = None,
    history: int | None = None,
) -> Chain:
    """history: the recent ledgers the server answers for; None, every one (full history)."""
    store = SqliteStore(data_dir) if data_dir is not None else None
    return Chain(Fees(base_fee, base_reserve, owner_reserve), store, history)


class LocalLedger:
    """Runs the ledger server on its own thread and event loop, on free ports by default."""

    def __init__(
        self,
        close_interval_ms: int = 0,
        base_reserve: int = 1_000_000,
        owner_reserve: int = 200_000,
        base_fee: int = 10,
        data_dir: str | Path | None = None,
        rpc_port: int = 0,
        ws_port: int = 0,
        second_rpc_port: int | None = 0,
        history: int | None = None,
    ) -> None:
        """second_rpc_port: the same chain's second JSON-RPC port, as a second server of the
        network would serve it (0: a free one; None: none). history: as build_chain's."""
        self.chain = build_chain(base_reserve, owner_reserve, base_fee, data_dir, history)
        self.server = LedgerServer(self.chain, close_interval_ms)
        self._ports = (rpc_port, ws_port, second_rpc_port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.server.rpc_port}"

    @property
    def second_rpc_url(self) -> str:
        if not self.server.second_rpc_port:
            raise RuntimeError("this ledger serves no second JSON-RPC port")
        return f"http://127.0.0.1:{self.server.second_rpc_port}"

    @property
    def rpc_urls(self) -> tuple[str, ...]:
        """Every JSON-RPC URL of the chain: what XRPL_URLS lists."""
        second = (self.second_rpc_url,) if self.server.second_rpc_port else ()
        return (self.rpc_url, *second)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.ws_port}"

    def lie(self, rpc_url: str, about: str | None) -> None:
        """Make the JSON-RPC port at rpc_url lie `about` one of local.ledger_server.lies.LIES
        from its next answer on; None: tell the truth again. Safe from any thread."""
        self.server.lie(int(rpc_url.rsplit(":", 1)[1]), about)

    def start(self) -> LocalLedger:
        self._thread = threading.Thread(target=self._run, name="local-ledger", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._error is not None:
            raise RuntimeError("local ledger failed to start") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.server.start(*self._ports))
        except (OSError, RuntimeError) as exc:  # surface bind errors to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self.server.stop())
        loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        self.chain.stop()  # waits for a close running on another thread

    def close_ledger(self) -> LedgerHeader:
        """Close and validate the open ledger now (same as the admin ledger_accept).

        Safe from any thread: requests being served see the ledger before or after it.
        """
        return self.chain.close()

    def __enter__(self) -> LocalLedger:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

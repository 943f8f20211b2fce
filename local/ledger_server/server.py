"""HTTP JSON-RPC and WebSocket front ends for the chain (127.0.0.1 only).

JSON-RPC is served on two ports, as by two servers of one network: the same chain, the same
ledgers. Either port can be told to lie (the `lie` method, local/ledger_server/lies.py), so
tests can show the platform needs both to agree before money moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import traceback
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from local.ledger_server.chain import Chain, LedgerHeader
from local.ledger_server.lies import LIES, TRUTH, tell
from local.ledger_server.rpc import RpcError, dispatch

HOST = "127.0.0.1"
MAX_BODY = 8 * 1024 * 1024
BACKLOG = 1024  # many clients connect at once (asyncio's default is 100)


def _encode(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class LedgerServer:
    def __init__(self, chain: Chain, close_interval_ms: int = 0) -> None:
        self.chain = chain
        self.close_interval_ms = close_interval_ms
        self.rpc_port = 0
        self.second_rpc_port = 0  # 0 until started with a second JSON-RPC port
        self.ws_port = 0
        self.lies: dict[int, str] = {}  # JSON-RPC port -> what it lies about (lies.LIES)
        self._http: asyncio.Server | None = None
        self._second_http: asyncio.Server | None = None
        self._ws: Server | None = None
        self._closer: asyncio.Task[None] | None = None
        self._subscribers: set[ServerConnection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[asyncio.Future[None]] = set()
        self._http_clients: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        chain.listeners.append(self._on_close)

    async def start(self, rpc_port: int, ws_port: int, second_rpc_port: int | None = None) -> None:
        """second_rpc_port: a second JSON-RPC port on the same chain (0: a free one)."""
        self._loop = asyncio.get_running_loop()
        self._http = await asyncio.start_server(self._http_client, HOST, rpc_port, backlog=BACKLOG)
        self.rpc_port = self._http.sockets[0].getsockname()[1]
        if second_rpc_port is not None:
            self._second_http = await asyncio.start_server(
                self._http_client, HOST, second_rpc_port, backlog=BACKLOG
            )
            self.second_rpc_port = self._second_http.sockets[0].getsockname()[1]
        self._ws = await serve(self._ws_client, HOST, ws_port, max_size=MAX_BODY, backlog=BACKLOG)
        self.ws_port = next(iter(self._ws.sockets)).getsockname()[1]
        if self.close_interval_ms > 0:
            self._closer = asyncio.create_task(self._close_loop())

    async def stop(self) -> None:
        if self._closer is not None:
            self._closer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._closer
        if self._ws is not None:
            self._ws.close()
            await self._ws.wait_closed()
        listeners = [x for x in (self._http, self._second_http) if x is not None]
        for listener in listeners:
            listener.close()
        await self._close_http_clients()
        for listener in listeners:
            await listener.wait_closed()

    def lie(self, port: int, about: str | None) -> None:
        """Make a JSON-RPC port lie `about` one of lies.LIES; None (or "nothing"): the truth."""
        if port not in (self.rpc_port, self.second_rpc_port) or port == 0:
            raise ValueError(f"{port} is not a JSON-RPC port of this ledger")
        if about in (None, TRUTH):
            self.lies.pop(port, None)
        elif about in LIES:
            self.lies[port] = about
        else:
            raise ValueError(f"no lie about {about!r}; one of {sorted(LIES)} or {TRUTH!r}")

    async def _close_http_clients(self) -> None:
        """End kept-alive connections too (Server.close leaves them before Python 3.12), so no
        handler is left suspended on a loop about to close."""
        for writer in self._http_clients.values():
            writer.transport.abort()  # the handler's read then ends, and it returns
        await asyncio.gather(*self._http_clients, return_exceptions=True)

    async def _close_loop(self) -> None:
        """Close on a fixed schedule; one failed close is reported and the next one runs."""
        interval = self.close_interval_ms / 1000
        due = time.monotonic() + interval
        while True:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            due = max(due + interval, time.monotonic())  # never try to catch up in a burst
            try:
                self.chain.close()
            except Exception:  # noqa: BLE001 - keep closing: tests and demo depend on it
                print("local ledger: close failed", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)

    # --- JSON-RPC over HTTP ---------------------------------------------------

    async def _http_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._http_clients[task] = writer
            task.add_done_callback(lambda done: self._http_clients.pop(done, None))
        port = int(writer.get_extra_info("sockname")[1])
        try:
            while True:
                request = await _read_http_request(reader)
                if request is None:
                    break
                status, body, keep_alive = request
                if status == 200:
                    payload = self._handle_jsonrpc(body, port)
                    if payload is None:  # this port plays a server that is down
                        break
                    writer.write(_http_response(200, payload, keep_alive))
                else:
                    writer.write(_http_response(status, body, keep_alive=False))
                await writer.drain()
                if not keep_alive or status != 200:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _handle_jsonrpc(self, body: bytes, port: int) -> bytes | None:
        try:
            request = json.loads(body)
        except ValueError:
            return _encode(
                {
                    "result": {
                        **RpcError("invalidParams", "Unable to parse request").to_json(),
                        "status": "error",
                    }
                }
            )
        if not isinstance(request, dict):
            return _encode({"result": {**RpcError("invalidParams").to_json(), "status": "error"}})
        method = request.get("method")
        params_list = request.get("params") or [{}]
        params = params_list[0] if isinstance(params_list, list) and params_list else {}
        if not isinstance(params, dict):
            params = {}
        if method == "lie":  # local control, answered even by a port playing dead
            result = self._lie_request(params)
        elif self.lies.get(port) == "down":
            return None
        else:
            result = tell(self.lies.get(port), method, params, dispatch(self.chain, method, params))
        if result.get("status") == "error":
            result["request"] = {**params, "command": method}
        return _encode({"result": result})

    def _lie_request(self, params: dict[str, Any]) -> dict[str, Any]:
        """{"port": N, "about": "result" | ... | "nothing"} -> every port's lie, as now set."""
        try:
            self.lie(int(params.get("port", 0)), params.get("about"))
        except (TypeError, ValueError) as error:
            return {**RpcError("invalidParams", str(error)).to_json(), "status": "error"}
        lies = {str(p): self.lies.get(p, TRUTH) for p in (self.rpc_port, self.second_rpc_port) if p}
        return {"lies": lies, "status": "success"}

    # --- WebSocket ------------------------------------------------------------

    async def _ws_client(self, conn: ServerConnection) -> None:
        try:
            async for raw in conn:
                reply = self._handle_ws(conn, raw)
                await conn.send(_encode(reply).decode())
        except ConnectionClosed:
            pass
        finally:
            self._subscribers.discard(conn)

    def _handle_ws(self, conn: ServerConnection, raw: str | bytes) -> dict[str, Any]:
        try:
            request = json.loads(raw)
            if not isinstance(request, dict):
                raise ValueError
        except ValueError:
            return {
                **RpcError("invalidParams", "Unable to parse request").to_json(),
                "status": "error",
                "type": "response",
            }
        command = request.get("command", request.get("method"))
        params = {k: v for k, v in request.items() if k not in ("id", "command", "method")}
        if command in ("subscribe", "unsubscribe"):
            with self.chain.lock:
                result = self._subscription(conn, command, params)
        else:
            result = dispatch(self.chain, command, params)
        reply: dict[str, Any] = {"type": "response"}
        if "id" in request:
            reply["id"] = request["id"]
        if result.get("status") == "error":
            reply.update(result)
            reply["request"] = request
        else:
            status = result.pop("status")
            reply["result"] = result
            reply["status"] = status
        reply.setdefault("api_version", request.get("api_version", 2))
        return reply

    def _subscription(
        self, conn: ServerConnection, command: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        streams = params.get("streams", [])
        if (
            not isinstance(streams, list)
            or any(s != "ledger" for s in streams)
            or params.get("accounts")
        ):
            return {**RpcError("malformedStream").to_json(), "status": "error"}
        if command == "unsubscribe":
            self._subscribers.discard(conn)
            return {"status": "success"}
        if "ledger" in streams:
            self._subscribers.add(conn)
            return {**self._ledger_event(self.chain.last_closed, stream=False), "status": "success"}
        return {"status": "success"}

    def _ledger_event(self, header: LedgerHeader, stream: bool) -> dict[str, Any]:
        fees = self.chain.fees
        seqs = sorted(self.chain.headers)
        event: dict[str, Any] = {
            "fee_base": fees.base,
            "ledger_hash": header.hash.hex().upper(),
            "ledger_index": header.seq,
            "ledger_time": header.close_time,
            "reserve_base": fees.reserve_base,
            "reserve_inc": fees.reserve_inc,
            "validated_ledgers": f"{seqs[0]}-{seqs[-1]}",
        }
        if stream:
            event["type"] = "ledgerClosed"
            event["txn_count"] = len(header.tx_hashes)
        return event

    def _on_close(self, header: LedgerHeader) -> None:
        if not self._subscribers or self._loop is None:
            return
        message = _encode(self._ledger_event(header, stream=True)).decode()
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody listens
            self._loop.call_soon_threadsafe(self._broadcast, message)

    def _broadcast(self, message: str) -> None:
        for conn in list(self._subscribers):
            task = asyncio.ensure_future(_safe_send(conn, message))
            self._pending.add(task)  # keep a reference until the send finishes
            task.add_done_callback(self._pending.discard)


async def _safe_send(conn: ServerConnection, message: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await conn.send(message)


async def _read_http_request(reader: asyncio.StreamReader) -> tuple[int, bytes, bool] | None:
    """Minimal HTTP/1.1 request reader: (status, body, keep_alive) or None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError:
        return 431, b"Request header too large", False
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 3:
        return 400, b"Bad request", False
    method, version = parts[0], parts[2]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    length = int(headers.get("content-length", "0") or 0)
    if length > MAX_BODY:
        return 413, b"Request too large", False
    body = await reader.readexactly(length) if length else b""
    if method != "POST":
        return 405, b"Method not allowed: use POST with a JSON-RPC body", keep_alive
    return 200, body, keep_alive


def _http_response(status: int, body: bytes, keep_alive: bool) -> bytes:
    reason = {
        200: "OK",
        400: "Bad Request",
        405: "Method Not Allowed",
        413: "Payload Too Large",
    }.get(status, "Error")
    content_type = "application/json" if status == 200 else "text/plain"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode() + body

"""A stand-in for the XRPL Testnet faucet (https://faucet.altnet.rippletest.net/accounts) over
the local ledger: `POST /accounts` with `{"destination": address}` pays the address 100 XRP
from the genesis account, in a validated ledger, and answers as the faucet does. Anything else
is refused, as the faucet refuses it. tests/ops/test_bootstrap_after_deploy.py checks that
xrpl-py's own faucet client funds a wallet through it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAID_XRP = 100  # what the Testnet faucet gives a request


@contextmanager
def faucet(ledger_url: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The faucet's URL, and every request body it accepted."""
    accepted: list[dict[str, Any]] = []

    class Faucet(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                asked = json.loads(body)
                address = asked["destination"]
            except (ValueError, KeyError, TypeError):
                return self._answer(400, {"error": "invalid destination"})
            if self.path != "/accounts" or not isinstance(address, str):
                return self._answer(400, {"error": "invalid request"})
            from local.ledger_server.genesis import fund

            fund(ledger_url, address, PAID_XRP)
            accepted.append(asked)
            account = {"address": address, "classicAddress": address}
            return self._answer(200, {"account": account, "amount": PAID_XRP})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Faucet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/accounts", accepted
    finally:
        server.shutdown()
        server.server_close()

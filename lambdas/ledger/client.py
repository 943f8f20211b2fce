"""A thin, typed view of the rippled API the platform uses, over xrpl-py's JSON-RPC client.

Connection failures and overloaded servers become TransientFault; everything else is returned
as rippled said it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from xrpl.asyncio.clients.utils import json_to_response, request_to_json_rpc
from xrpl.models.requests import (
    AccountInfo,
    AccountLines,
    AccountObjects,
    AccountObjectType,
    Fee,
    Request,
    ServerInfo,
    ServerState,
    SubmitOnly,
    Tx,
)
from xrpl.models.response import Response

from domain.errors import TransientFault

_TRANSIENT_ERRORS = frozenset({"tooBusy", "noCurrent", "noNetwork", "notReady", "slowDown"})


class LedgerRequestFailed(RuntimeError):
    """rippled answered with an error that is not about load: a bug or a bad request."""


@dataclass(frozen=True)
class LedgerFees:
    """Reserves and fees as the server reports them, in drops."""

    base_fee: int
    open_ledger_fee: int
    base_reserve: int
    owner_reserve: int


class _JsonRpc:
    """JSON-RPC over one kept-alive HTTP connection pool. xrpl-py's sync JsonRpcClient builds an
    event loop, an HTTP client and a TLS context per request: a third of a busy step's CPU."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self._http = httpx.Client(timeout=timeout)

    def request(self, request: Request) -> Response:
        reply = self._http.post(self.url, json=request_to_json_rpc(request))
        try:
            return json_to_response(reply.json())
        except ValueError:  # not JSON: a proxy's error page, say
            status, text = reply.status_code, reply.text[:200]
            raise httpx.HTTPError(f"ledger answered {status}: {text}") from None


class LedgerClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self._client = _JsonRpc(url)

    def request(
        self, request: Request, allow_errors: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        try:
            response = self._client.request(request)
        except (httpx.HTTPError, OSError) as error:
            raise TransientFault(f"ledger at {self.url} unreachable: {error}") from error
        result: dict[str, Any] = response.result
        if response.is_successful():
            return result
        code = str(result.get("error", "unknown"))
        if code in allow_errors:
            return result
        if code in _TRANSIENT_ERRORS:
            raise TransientFault(f"ledger busy ({code})")
        message = result.get("error_message", "")
        raise LedgerRequestFailed(f"{request.method}: {code}: {message}")

    def fees(self) -> LedgerFees:
        state = self.request(ServerState())["state"]
        validated = state["validated_ledger"]
        fee = self.request(Fee())["drops"]
        return LedgerFees(
            base_fee=int(validated["base_fee"]),
            open_ledger_fee=int(fee["open_ledger_fee"]),
            base_reserve=int(validated["reserve_base"]),
            owner_reserve=int(validated["reserve_inc"]),
        )

    def validated_ledger_index(self) -> int:
        return int(self.request(ServerState())["state"]["validated_ledger"]["seq"])

    def validated_age(self) -> int | None:
        """Seconds since the last ledger validated (server_info), or None if the server has no
        validated ledger to speak of."""
        validated = self.request(ServerInfo())["info"].get("validated_ledger") or {}
        age = validated.get("age")
        return int(age) if age is not None else None

    def holds_ledgers(self, first: int, last: int) -> bool:
        """Whether the server has every validated ledger from first to last (complete_ledgers)."""
        ranges = str(self.request(ServerState())["state"].get("complete_ledgers", ""))
        for part in ranges.split(","):
            low, _, high = part.strip().partition("-")
            if low.isdigit() and int(low) <= first and last <= int(high or low):
                return True
        return False

    def account_root(self, address: str) -> dict[str, Any] | None:
        """The validated AccountRoot, or None if the account does not exist."""
        result = self.request(
            AccountInfo(account=address, ledger_index="validated"), frozenset({"actNotFound"})
        )
        return result.get("account_data")

    def current_sequence(self, address: str) -> int | None:
        """The account's next Sequence in the open ledger (what rippled will apply next)."""
        result = self.request(
            AccountInfo(account=address, ledger_index="current"), frozenset({"actNotFound"})
        )
        data = result.get("account_data")
        return int(data["Sequence"]) if data else None

    def trust_lines(
        self, address: str, peer: str | None = None, ledger: str = "validated"
    ) -> list[dict[str, Any]]:
        """ledger="current" reads the open ledger: what is applied but not yet validated."""
        result = self.request(
            AccountLines(account=address, peer=peer, ledger_index=ledger),
            frozenset({"actNotFound"}),
        )
        return list(result.get("lines", []))

    def trust_line(
        self, address: str, issuer: str, currency: str, ledger: str = "validated"
    ) -> dict[str, Any] | None:
        """The address's line to issuer in currency, as account_lines shows it; None if none."""
        return next(
            (x for x in self.trust_lines(address, issuer, ledger) if x["currency"] == currency),
            None,
        )

    def objects(self, address: str, kind: AccountObjectType) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        marker: Any = None
        while True:
            result = self.request(
                AccountObjects(
                    account=address, type=kind, ledger_index="validated", limit=400, marker=marker
                ),
                frozenset({"actNotFound"}),
            )
            objects.extend(result.get("account_objects", []))
            marker = result.get("marker")
            if not marker:
                return objects

    def submit_blob(self, tx_blob: str) -> str:
        """Submit a signed blob as-is; return rippled's preliminary engine_result."""
        return str(self.request(SubmitOnly(tx_blob=tx_blob))["engine_result"])

    def find_transaction(self, tx_hash: str, min_ledger: int, max_ledger: int) -> dict[str, Any]:
        """`tx` by hash over a range: the transaction, or {"error": "txnNotFound", ...}."""
        return self.request(
            Tx(transaction=tx_hash, min_ledger=min_ledger, max_ledger=max_ledger),
            frozenset({"txnNotFound"}),
        )

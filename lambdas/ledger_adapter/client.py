"""A thin, typed view of the rippled API the platform uses, over xrpl-py's JSON-RPC client:
one server. Money decisions ask several and need two to agree (lambdas/ledger_adapter/quorum.py).

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
    AccountTx,
    Fee,
    Ledger,
    LedgerEntry,
    Request,
    ServerInfo,
    ServerState,
    SubmitOnly,
    Tx,
)
from xrpl.models.requests.ledger_entry import MPToken
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


LedgerIndex = int | str  # a validated ledger's index, or "validated" / "current"


@dataclass(frozen=True)
class Sighting:
    """What one server says about one transaction, read in one go: its validated ledger before
    the lookup, the `tx` answer over [first, last], and whether it proves the transaction can
    never apply (absent from validated ledgers it holds whole, LastLedgerSequence passed)."""

    server: str
    validated_index: int
    found: dict[str, Any]
    proves_absent: bool

    @property
    def validated(self) -> bool:
        return bool(self.found.get("validated"))

    @property
    def unseen(self) -> bool:
        """The server does not know the transaction (txnNotFound)."""
        return "error" in self.found

    def facts(self) -> tuple[str, int, str]:
        """Where the server says it validated: transaction hash, ledger index, result."""
        meta = self.found.get("meta") or {}
        return (
            str(self.found.get("hash", "")).upper(),
            int(self.found.get("ledger_index") or 0),
            str(meta.get("TransactionResult", "")),
        )


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


def line_in(lines: list[dict[str, Any]], currency: str) -> dict[str, Any] | None:
    """The line in that currency among one peer's lines; None if there is none."""
    return next((line for line in lines if line["currency"] == currency), None)


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
        if code == "lgrNotFound":
            # A past ledger this server no longer keeps (rippled's [ledger_history]/online_delete).
            raise LedgerRequestFailed(
                f"{request.method}: {code}: the ledger server at {self.url} does not keep this"
                " ledger; reading the books at a past date needs full-history servers"
            )
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

    def account_info(self, address: str, ledger: LedgerIndex = "validated") -> dict[str, Any]:
        """account_info as the server answers it (actNotFound included), ledger stamp and all."""
        return self.request(
            AccountInfo(account=address, ledger_index=ledger), frozenset({"actNotFound"})
        )

    def account_root(self, address: str) -> dict[str, Any] | None:
        """The validated AccountRoot, or None if the account does not exist."""
        return self.account_info(address).get("account_data")

    def current_sequence(self, address: str) -> int | None:
        """The account's next Sequence in the open ledger (what rippled will apply next)."""
        result = self.request(
            AccountInfo(account=address, ledger_index="current"), frozenset({"actNotFound"})
        )
        data = result.get("account_data")
        return int(data["Sequence"]) if data else None

    def account_lines(
        self, address: str, peer: str | None = None, ledger: LedgerIndex = "validated"
    ) -> dict[str, Any]:
        """account_lines as the server answers it (one page: the platform's accounts hold a
        few lines), ledger stamp and all."""
        return self.request(
            AccountLines(account=address, peer=peer, ledger_index=ledger),
            frozenset({"actNotFound"}),
        )

    def trust_lines(
        self, address: str, peer: str | None = None, ledger: str = "validated"
    ) -> list[dict[str, Any]]:
        """ledger="current" reads the open ledger: what is applied but not yet validated."""
        return list(self.account_lines(address, peer, ledger).get("lines", []))

    def trust_line(
        self, address: str, issuer: str, currency: str, ledger: str = "validated"
    ) -> dict[str, Any] | None:
        """The address's line to issuer in currency, as account_lines shows it; None if none."""
        return line_in(self.trust_lines(address, issuer, ledger), currency)

    def every_line(self, address: str, ledger_index: int) -> list[dict[str, Any]]:
        """Every page of the address's trust lines in one validated ledger (an issuer's lines:
        one per holder of its currency)."""
        lines: list[dict[str, Any]] = []
        marker: Any = None
        while True:
            result = self.request(
                AccountLines(account=address, ledger_index=ledger_index, limit=400, marker=marker),
                frozenset({"actNotFound"}),
            )
            lines.extend(result.get("lines", []))
            marker = result.get("marker")
            if not marker:
                return lines

    def transactions_up_to(self, address: str, ledger_index: int) -> list[dict[str, Any]]:
        """Every validated transaction touching the address up to that ledger, oldest first
        (account_tx, every page)."""
        entries: list[dict[str, Any]] = []
        marker: Any = None
        while True:
            result = self.request(
                AccountTx(
                    account=address, ledger_index_min=-1, ledger_index_max=ledger_index,
                    forward=True, limit=400, marker=marker,
                ),
                frozenset({"actNotFound"}),
            )  # fmt: skip
            entries.extend(result.get("transactions", []))
            marker = result.get("marker")
            if not marker:
                return entries

    def close_time(self, ledger_index: int) -> int:
        """The ledger's close time, in seconds since the XRPL epoch (2000-01-01 UTC)."""
        header = self.request(Ledger(ledger_index=ledger_index))["ledger"]
        return int(header["close_time"])

    def account_objects(
        self, address: str, kind: AccountObjectType, ledger: LedgerIndex = "validated"
    ) -> dict[str, Any]:
        """Every page of account_objects, all from the ledger the first page was read from:
        the first page's answer with the whole list in `account_objects`."""
        first: dict[str, Any] | None = None
        objects: list[dict[str, Any]] = []
        marker: Any = None
        while True:
            result = self.request(
                AccountObjects(
                    account=address, type=kind, ledger_index=ledger, limit=400, marker=marker
                ),
                frozenset({"actNotFound"}),
            )
            first = first or result
            ledger = result.get("ledger_index", ledger)
            objects.extend(result.get("account_objects", []))
            marker = result.get("marker")
            if not marker:
                return {**first, "account_objects": objects, "marker": None}

    def objects(self, address: str, kind: AccountObjectType) -> list[dict[str, Any]]:
        return list(self.account_objects(address, kind)["account_objects"])

    def holdings(
        self, address: str, issuer: str
    ) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        """(validated ledger index, the address's lines to issuer, its MPTokens), all from one
        validated ledger: a purchase transfers stablecoin and delivers units in one ledger, so
        reading them from two could count a purchase twice, or not at all."""
        index = self.validated_ledger_index()
        lines = self.request(
            AccountLines(account=address, peer=issuer, ledger_index=index),
            frozenset({"actNotFound"}),
        ).get("lines", [])
        tokens = self.account_objects(address, AccountObjectType.MPTOKEN, index)
        return index, list(lines), list(tokens["account_objects"])

    def mpt_issuance(self, issuance_id: str, ledger: LedgerIndex) -> dict[str, Any]:
        """The MPTokenIssuance in that ledger (its OutstandingAmount: every holder's units)."""
        request = LedgerEntry(mpt_issuance=issuance_id, ledger_index=ledger)
        return self.request(request, frozenset({"entryNotFound"}))

    def mptoken(self, issuance_id: str, holder: str, ledger: LedgerIndex) -> dict[str, Any]:
        """The holder's MPToken of the issuance in that ledger (entryNotFound: none)."""
        token = MPToken(mpt_issuance_id=issuance_id, account=holder)
        return self.request(
            LedgerEntry(mptoken=token, ledger_index=ledger), frozenset({"entryNotFound"})
        )

    def submit_blob(self, tx_blob: str) -> str:
        """Submit a signed blob as-is; return rippled's preliminary engine_result."""
        return str(self.request(SubmitOnly(tx_blob=tx_blob))["engine_result"])

    def find_transaction(self, tx_hash: str, min_ledger: int, max_ledger: int) -> dict[str, Any]:
        """`tx` by hash over a range: the transaction, or {"error": "txnNotFound", ...}."""
        return self.request(
            Tx(transaction=tx_hash, min_ledger=min_ledger, max_ledger=max_ledger),
            frozenset({"txnNotFound"}),
        )

    def sighting(self, tx_hash: str, first: int, last: int) -> Sighting:
        """This server's word on a transaction signed at ledger `first` with LastLedgerSequence
        `last`. Expiry is proven when the server had validated past `last` before the lookup
        and holds every ledger of the range whole, yet has the transaction in none of them.

        rippled answers `tx` for a transaction it received but never validated from its cache
        (`validated: false`, no error), so "not found" alone is not the only proof."""
        # Read before the lookup: a ledger validated after it cannot hide the transaction.
        validated_index = self.validated_ledger_index()
        found = self.find_transaction(tx_hash, first, last)
        absent = False
        if not found.get("validated") and validated_index > last:
            if found.get("error") == "txnNotFound":
                absent = bool(found.get("searched_all"))
            else:
                absent = self.holds_ledgers(first, last)
        return Sighting(self.url, validated_index, found, absent)

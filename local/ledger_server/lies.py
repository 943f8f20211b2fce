"""What a JSON-RPC port of the local ledger can be told to say falsely, so tests can show that
the platform decides nothing on one server's word (docs/local-ledger.md, the `lie` method).

Each lie rewrites the honest answer of one method; the chain itself is never touched, so the
other port keeps telling the truth about the same ledgers.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from local.ledger_server.rpc import RpcError

LIES = {
    "result": "tx: a validated transaction's result is the other way round",
    "ledger": "tx: a validated transaction is in the next ledger, under another ledger hash",
    "missing": "tx: a validated transaction is in no ledger of a range held whole",
    "balance": "account_lines, account_info: every balance is 1,000,000 higher",
    "down": "every request but `lie` goes unanswered, as to a server that is down",
}
TRUTH = "nothing"
FALSE_SUCCESS, FALSE_FAILURE = "tesSUCCESS", "tecUNFUNDED_PAYMENT"
EXTRA_BALANCE = Decimal(1_000_000)


def tell(about: str | None, method: Any, params: dict[str, Any], answer: dict[str, Any]) -> Any:
    """The answer as a server lying `about` that gives it; the honest answer otherwise."""
    if about == "balance" and method in ("account_lines", "account_info"):
        return _richer(copy.deepcopy(answer))
    if method != "tx" or not answer.get("validated"):
        return answer
    if about == "result":
        told = copy.deepcopy(answer)
        meta = told["meta"]
        honest = meta["TransactionResult"]
        meta["TransactionResult"] = FALSE_FAILURE if honest == FALSE_SUCCESS else FALSE_SUCCESS
        return told
    if about == "ledger":
        told = copy.deepcopy(answer)
        told["ledger_index"] = int(told["ledger_index"]) + 1
        told["ledger_hash"] = str(told.get("ledger_hash", "")).upper()[::-1]
        if "tx_json" in told:
            told["tx_json"]["ledger_index"] = told["ledger_index"]
        return told
    if about == "missing":
        told = {**RpcError("txnNotFound").to_json(), "status": "error"}
        if "min_ledger" in params and "max_ledger" in params:
            told["searched_all"] = True
        return told
    return answer


def _richer(answer: dict[str, Any]) -> dict[str, Any]:
    for line in answer.get("lines", []):
        line["balance"] = str(Decimal(line["balance"]) + EXTRA_BALANCE)
    data = answer.get("account_data")
    if data is not None:
        data["Balance"] = str(int(data["Balance"]) + int(EXTRA_BALANCE) * 1_000_000)
    return answer

"""The demo's third part: money out. Ada, paid her coupons and principal, withdraws part of
them through the frontend API to the bank account KYC verified: the stablecoin is redeemed on the
ledger and the payment provider pays it out. Then a payout the bank returns: the provider says
paid, then returned, and the same amount is back in Ada's wallet, once. drexfy-ops shows both.

Told to a deployed stack (`run_on_a_stack`), the payout goes to the real provider, which answers
in its own time (a bank transfer can take a day), and cannot be scripted to return one: the run
shows the stablecoin redeemed on the ledger and the payout asked for, and leaves the rest to the
provider's answer, which the stack's own Settlement workflow takes.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.demo_servicing import eur_of, wallet_of

if TYPE_CHECKING:
    from local.demo import Demo

ADA = "inv-ada"
PAYOUT_ACCOUNT = {"iban": "DE89 3704 0044 0532 0130 00", "holder_name": "Ada Lovelace"}


def run(demo: Demo, state_file: Path, provider_url: str) -> None:
    from local.demo import run_module

    ada = wallet_of(ADA)
    print("\n== Ada withdraws 25.00 EUR of her coupons to the account KYC verified")
    before = eur_of(demo, ada)
    paid = withdraw(demo, ADA, "25.00", uuid.uuid4().hex)
    print(f"    Ada's EUR on the ledger: {before} -> {eur_of(demo, ada)}")
    demo.expect("the withdrawal is paid out", paid.get("status") == "PAID_OUT")
    demo.expect("25.00 EUR left Ada's wallet", eur_of(demo, ada) == before - Decimal("25.00"))

    print("\n== Ada withdraws 10.00 EUR; the provider pays it, then her bank returns it")
    key = uuid.uuid4().hex
    plan(provider_url, withdrawal_id_of(key), "paid", "returned", reason="account closed")
    before = eur_of(demo, ada)
    returned = withdraw(demo, ADA, "10.00", key, settlements=2)
    print(f"    {returned.get('status')}: {returned.get('reason')}")
    print(f"    Ada's EUR on the ledger: {before} -> {eur_of(demo, ada)}")
    demo.expect("the returned payout is back in Ada's wallet", eur_of(demo, ada) == before)
    demo.expect("and marked RETURNED", returned.get("status") == "RETURNED")

    print(f"\n== drexfy-ops withdrawals --investor {ADA}")
    run_module("ops.cli", "--state-file", str(state_file), "withdrawals", "--investor", ADA)
    print("\n== drexfy-ops payouts")
    run_module("ops.cli", "--state-file", str(state_file), "payouts")


def run_on_a_stack(demo: Demo) -> None:
    ada_id = demo.investor("ada")
    ada = wallet_of(ada_id)
    print("\n== Ada withdraws 25.00 EUR to the account KYC verified; the real provider pays it")
    before = eur_of(demo, ada)
    asked = withdraw(demo, ada_id, "25.00", uuid.uuid4().hex, settlements=0)
    print(f"    {asked.get('status')}; Ada's EUR on the ledger: {before} -> {eur_of(demo, ada)}")
    demo.expect(
        "the withdrawal is redeemed and its payout asked for (or already paid)",
        asked.get("status") in ("REDEEMED", "PAID_OUT"),
    )
    demo.expect("25.00 EUR left Ada's wallet", eur_of(demo, ada) == before - Decimal("25.00"))


def withdraw(
    demo: Demo, investor_id: str, amount: str, key: str, settlements: int = 1
) -> dict[str, Any]:
    """POST /investors/{investor_id}/withdrawals as the frontend; the withdrawal after its
    workflow and the provider's first `settlements` answers."""
    path = f"/investors/{investor_id}/withdrawals"
    status, asked = frontend_post(demo, path, {"amount": amount}, key)
    print(f"    POST {path} {amount} EUR -> {status} {asked.get('status')}")
    withdrawal_id = str(asked.get("withdrawal_id"))
    demo.finished(
        "Withdrawal", lambda i: i.get("withdrawal", {}).get("withdrawal_id") == withdrawal_id
    )
    for answer in ("PayoutPaid", "PayoutReturned")[:settlements]:
        demo.finished("Settlement", _answering(withdrawal_id, answer))
    _, listed = frontend_get(demo, path)
    return next(w for w in listed["withdrawals"] if w["withdrawal_id"] == withdrawal_id)


def _answering(withdrawal_id: str, answer: str) -> Callable[[dict[str, Any]], bool]:
    """The Settlement started by the provider's `answer` about the withdrawal."""

    def ours(given: dict[str, Any]) -> bool:
        outcome = given.get("outcome", {})
        return bool(
            outcome.get("withdrawal_id") == withdrawal_id and given.get("detail_type") == answer
        )

    return ours


def withdrawal_id_of(key: str) -> str:
    from domain.withdrawal import withdrawal_id_for

    return withdrawal_id_for(ADA, key)


def plan(provider_url: str, reference: str, *outcomes: str, reason: str) -> None:
    """Script the provider stand-in, as a test of the bank's return would."""
    document = {"reference": reference, "outcomes": list(outcomes), "reason": reason}
    _request(provider_url + "/plans", "POST", {}, document)


def frontend_post(
    demo: Demo, path: str, body: dict[str, Any], key: str
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {_token(demo)}", "Idempotency-Key": key}
    return _request(demo.api_url + path, "POST", headers, body)


def frontend_get(demo: Demo, path: str) -> tuple[int, dict[str, Any]]:
    return _request(demo.api_url + path, "GET", {"Authorization": f"Bearer {_token(demo)}"})


def _token(demo: Demo) -> str:
    return demo.secret("FrontendApiSecretArn")


def _request(
    url: str, method: str, headers: dict[str, str], body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())

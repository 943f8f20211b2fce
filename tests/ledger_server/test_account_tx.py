"""account_tx paging, as rippled pages it: the marker names the next transaction (ledger and
index in it), so paging ends, never repeats, and keeps its place while ledgers close."""

from __future__ import annotations

from typing import Any

import pytest
from xrpl.models import AccountTx, Payment
from xrpl.wallet import Wallet

from tests.ledger_server.conftest import Env


def _pay_many(env: Env, source: Wallet, per_ledger: list[int]) -> list[str]:
    """Payments from source, so many in each ledger; their hashes in ledger order."""
    sink = env.wallet()
    sequence = env.account(source.address)["Sequence"]
    hashes = []
    for count in per_ledger:
        for _ in range(count):
            tx = Payment(
                account=source.address, destination=sink.address, amount="1", sequence=sequence
            )
            hashes.append(env.submit(tx, source, "tesSUCCESS")["tx_json"]["hash"])
            sequence += 1
        env.close()
    return hashes


def _pages(env: Env, account: str, limit: int, forward: bool, between: Any = None) -> list[str]:
    seen, marker = [], None
    for _ in range(100):
        result = env.request(
            AccountTx(account=account, forward=forward, limit=limit, marker=marker)
        )
        seen += [t["hash"] for t in result["transactions"]]
        marker = result.get("marker")
        if marker is None:
            return seen
        if between:
            between()
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("forward", [True, False])
def test_pages_cover_every_transaction_once_even_within_one_busy_ledger(
    env: Env, forward: bool
) -> None:
    source = env.wallet(1000)
    funding = _pages(env, source.address, 100, forward=True)  # the payment that funded it
    paid = _pay_many(env, source, [2, 7, 1])

    found = _pages(env, source.address, 3, forward)

    expected = funding + paid
    assert found == (expected if forward else expected[::-1])


def test_a_marker_keeps_its_place_while_new_ledgers_close(env: Env) -> None:
    source = env.wallet(1000)
    before = _pay_many(env, source, [4, 4])
    more: list[str] = []

    found = _pages(
        env,
        source.address,
        3,
        forward=False,
        between=lambda: more.extend(_pay_many(env, source, [1])),
    )

    # Newest first: what closed after the first page came in ahead of the marker, not into it.
    assert found[:3] == before[::-1][:3]
    assert set(before) <= set(found) and len(found) == len(set(found))


def test_a_malformed_marker_is_refused(env: Env) -> None:
    source = env.wallet()
    result = env.client.request(AccountTx(account=source.address, marker="not-a-marker")).result
    assert result["error"] == "invalidParams"

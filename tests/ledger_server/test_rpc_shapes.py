"""Server information, ledger methods and error shapes (rippled API v2)."""

from __future__ import annotations

import asyncio
import json

import httpx
from xrpl.asyncio.clients import AsyncWebsocketClient
from xrpl.models import (
    AccountInfo,
    Fee,
    Ledger,
    LedgerCurrent,
    Payment,
    ServerInfo,
    ServerState,
    SubmitOnly,
    Tx,
)
from xrpl.models.requests import GenericRequest

from local.ledger_server import GENESIS_ADDRESS
from tests.ledger_server.conftest import XRP, Env


def test_server_info_reports_mainnet_reserves(env: Env) -> None:
    info = env.request(ServerInfo())["info"]
    assert info["validated_ledger"]["reserve_base_xrp"] == 1
    assert info["validated_ledger"]["reserve_inc_xrp"] == 0.2
    assert info["validated_ledger"]["base_fee_xrp"] == 0.00001
    state = env.request(ServerState())["state"]["validated_ledger"]
    assert (state["reserve_base"], state["reserve_inc"], state["base_fee"]) == (
        1_000_000,
        200_000,
        10,
    )
    fee = env.request(Fee())
    assert fee["drops"]["base_fee"] == "10" and fee["drops"]["open_ledger_fee"] == "10"


def test_genesis_account_holds_100_billion_xrp_at_start() -> None:
    from local.ledger_server import LocalLedger

    with LocalLedger() as fresh:
        env = Env(fresh)
        data = env.account(GENESIS_ADDRESS, "validated")
        assert data["Balance"] == str(100_000_000_000 * XRP)
        assert data["index"] == "2B6AC232AA4C4BE41BF49D2459FA4A0347E1B543A4C92FCEE0821C0201E2E9A8"
        assert env.request(LedgerCurrent())["ledger_current_index"] == 3


def test_ledger_methods(env: Env) -> None:
    closed = env.close()
    validated = env.request(Ledger(ledger_index="validated"))
    assert validated["validated"] is True and validated["ledger_index"] == closed
    assert validated["ledger"]["closed"] is True
    current = env.request(Ledger(ledger_index="current"))
    assert current["validated"] is False and current["ledger"]["closed"] is False
    by_index = env.request(Ledger(ledger_index=closed, transactions=True, expand=True))
    assert by_index["ledger_hash"] == validated["ledger_hash"]
    accept = env.request(GenericRequest(method="ledger_accept"))
    assert accept["ledger_current_index"] == closed + 2


def _raw(env: Env, method: str, params: dict) -> dict:
    body = {"method": method, "params": [params]}
    return httpx.post(env.ledger.rpc_url, json=body).json()["result"]


def test_unknown_method_error_shape(env: Env) -> None:
    result = _raw(env, "no_such_method", {})
    assert result["status"] == "error"
    assert (result["error"], result["error_code"], result["error_message"]) == (
        "unknownCmd",
        32,
        "Unknown method.",
    )
    assert result["request"]["command"] == "no_such_method"


def test_account_not_found_and_malformed(env: Env) -> None:
    missing = _raw(env, "account_info", {"account": "rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv"})
    assert (missing["error"], missing["error_code"]) == ("actNotFound", 19)
    bad = _raw(env, "account_info", {"account": "not-an-address"})
    assert (bad["error"], bad["error_code"]) == ("actMalformed", 35)
    none = _raw(env, "account_info", {})
    assert (none["error"], none["error_message"]) == ("invalidParams", "Missing field 'account'.")


def test_submit_with_secret_is_not_supported(env: Env) -> None:
    tx_json = {"TransactionType": "AccountSet", "Account": GENESIS_ADDRESS}
    result = _raw(env, "submit", {"tx_json": tx_json, "secret": "snoPBrXtMeMyMHUVTgbuqAfg1SUTb"})
    assert (result["error"], result["error_code"]) == ("notSupported", 75)
    assert result["error_message"] == "Signing is not supported by this server."


def test_submit_garbage_blob(env: Env) -> None:
    assert _raw(env, "submit", {"tx_blob": "zz"})["error"] == "invalidParams"
    result = env.request(SubmitOnly(tx_blob="1200"))
    assert result["error"] == "invalidTransaction"


def test_bad_signature_rejected(env: Env) -> None:
    wallet = env.wallet()
    signed = env.sign(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1000"), wallet
    )
    blob = bytearray(bytes.fromhex(signed.blob()))
    blob[-30] ^= 0x01  # inside the Destination/Account tail: signature no longer matches
    result = env.request(SubmitOnly(tx_blob=blob.hex()))
    assert result["error"] == "invalidTransaction"
    assert result["error_exception"] == "fails local checks: Invalid signature."


def test_unsupported_transaction_type_gets_engine_result(env: Env) -> None:
    from xrpl.models import OfferCreate

    wallet = env.wallet()
    result = env.submit(
        OfferCreate(account=wallet.address, taker_gets="1000", taker_pays="2000"), wallet
    )
    assert result["engine_result"] == "temDISABLED"
    assert result["applied"] is False


def test_tx_not_found_shapes(env: Env) -> None:
    unknown = "0" * 63 + "1"
    plain = env.request(Tx(transaction=unknown))
    assert (plain["error"], plain["error_code"], plain["error_message"]) == (
        "txnNotFound",
        29,
        "Transaction not found.",
    )
    assert "searched_all" not in plain
    seq = env.validated_seq()
    ranged = env.request(Tx(transaction=unknown, min_ledger=1, max_ledger=seq))
    assert ranged["error"] == "txnNotFound" and ranged["searched_all"] is True
    beyond = env.request(Tx(transaction=unknown, min_ledger=1, max_ledger=seq + 5))
    assert beyond["searched_all"] is False
    too_wide = env.request(Tx(transaction=unknown, min_ledger=1, max_ledger=2000))
    assert too_wide["error"] == "excessiveLgrRange"


def test_websocket_request_and_ledger_stream(env: Env) -> None:
    async def scenario() -> None:
        async with AsyncWebsocketClient(env.ledger.ws_url) as client:
            info = await client.request(AccountInfo(account=GENESIS_ADDRESS))
            assert info.is_successful()
            missing = await client.request(GenericRequest(method="nope"))
            assert missing.result["error"] == "unknownCmd"
            from xrpl.models import StreamParameter, Subscribe

            sub = await client.request(Subscribe(streams=[StreamParameter.LEDGER]))
            assert "ledger_index" in sub.result
            await asyncio.get_running_loop().run_in_executor(None, env.close)
            async for message in client:
                if message.get("type") == "ledgerClosed":
                    assert message["ledger_index"] == sub.result["ledger_index"] + 1
                    break

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_raw_websocket_envelope(env: Env) -> None:
    from websockets.sync.client import connect

    with connect(env.ledger.ws_url) as ws:
        ws.send(json.dumps({"id": 7, "command": "ledger_current"}))
        reply = json.loads(ws.recv())
        assert reply["id"] == 7 and reply["status"] == "success" and reply["type"] == "response"
        assert "ledger_current_index" in reply["result"]
        ws.send(json.dumps({"id": 8, "command": "bogus"}))
        err = json.loads(ws.recv())
        assert (
            err["status"] == "error"
            and err["error"] == "unknownCmd"
            and err["request"]["command"] == "bogus"
        )

"""`python -m ops.bootstrap --stack NAME` after a deploy, against the embedded platform in server
mode standing in for the deployed stack: the configuration from the stack's outputs, the
credentials and the endpoint from the environment as for any AWS tool, nothing exported by
hand. On a faucet network the faucet funds the funding account; on Mainnet it refuses and says
what each account needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.aws.access import ADMINISTRATOR_ACCESS_KEY
from local.aws.stack_record import record_stack
from local.ledger_server import LocalLedger
from local.processes import PROJECT_ROOT, ChildServer, start_module
from tests.support.faucet import PAID_XRP, faucet


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, ledger: LocalLedger) -> Iterator[Any]:
    """A platform of its own (new keys: its funding account is not funded), as a server."""
    home = tmp_path_factory.mktemp("deployed")
    server: ChildServer = start_module(
        "local.aws",
        ["--state-file", str(home / "aws.json"), "--set-env", f"XRPL_URLS={ledger.rpc_url}"],
        "local aws ready",
        log_path=home / "aws.log",
    )
    try:
        yield json.loads((home / "aws.json").read_text())
    finally:
        server.stop()


def aws_environment(state: dict[str, Any]) -> dict[str, str]:
    """What an engineer's shell has after a deploy: credentials, a region, and here the
    endpoint; none of the stack's own variables."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XRPL_"))}
    return {
        **kept,
        "AWS_ENDPOINT_URL": state["endpoint_url"],
        "AWS_ACCESS_KEY_ID": ADMINISTRATOR_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": ADMINISTRATOR_ACCESS_KEY,
        "AWS_DEFAULT_REGION": state.get("region", "eu-west-1"),
    }


def administrator(state: dict[str, Any], service: str) -> Any:
    """A client of the embedded account's administrator (who deployed the stack)."""
    session = boto3.Session(
        aws_access_key_id=ADMINISTRATOR_ACCESS_KEY,
        aws_secret_access_key=ADMINISTRATOR_ACCESS_KEY,
        region_name=state.get("region", "eu-west-1"),
    )
    return session.client(service, endpoint_url=state["endpoint_url"])


def bootstrap(state: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ops.bootstrap", "--state-file", "/nonexistent", *args]
    return subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, env=aws_environment(state)
    )


def test_the_stack_by_name_is_set_up_once_with_the_faucet_paying_the_funding_account(
    deployed: dict[str, Any], ledger: LocalLedger
) -> None:
    stack = deployed["stack"]["name"]
    with faucet(ledger.rpc_url) as (url, asked):
        first = bootstrap(
            deployed, "--stack", stack, "--fund-from-faucet", "--faucet-url", url,
            "--funding-xrp", "300", "--close-ledgers",
        )  # fmt: skip
        second = bootstrap(
            deployed, "--stack", stack, "--fund-from-faucet", "--faucet-url", url,
            "--funding-xrp", "300", "--close-ledgers",
        )  # fmt: skip
    assert first.returncode == 0, first.stderr
    funded = [line for line in first.stdout.splitlines() if line.startswith("funded ")]
    assert len(funded) == 1, first.stdout
    assert "bootstrap#issuer#flag#2" in first.stdout and "catalogue: SME-2027-A" in first.stdout
    assert len(asked) == 300 // PAID_XRP, "asked until it held --funding-xrp"
    assert {a["destination"] for a in asked} == {funded[0].removeprefix("funded ")}
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "nothing to do: the ledger is already configured"


def test_on_mainnet_it_refuses_to_fund_and_says_what_each_account_needs(
    deployed: dict[str, Any], ledger: LocalLedger
) -> None:
    cloudformation = administrator(deployed, "cloudformation")
    outputs = {**deployed["stack"]["outputs"], "XrplNetwork": "mainnet", "ActivationXrp": "20"}
    record_stack(cloudformation, "Drexfy-prod", outputs)
    with faucet(ledger.rpc_url) as (url, asked):
        refused = bootstrap(
            deployed, "--stack", "Drexfy-prod", "--fund-from-faucet", "--faucet-url", url,
            "--investors", "200",
        )  # fmt: skip
    assert refused.returncode == 2, refused.stdout
    assert asked == [], "no faucet asked"
    said = refused.stderr
    assert said.startswith("refused: no faucet funds Mainnet accounts"), said
    for role in ("issuer", "company", "funding"):
        assert f"  {role} r" in said, said
    assert "200 investors x 20 activation" in said and "Tickets" in said  # the stack's figure
    assert "reserves: " in said


def test_reserves_a_ledger_cannot_tell_are_mainnet_s_documented_ones_and_said_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from domain.account_reserves import MAINNET_RESERVES, Reserves
    from ops.bootstrap import _reserves

    assert _reserves("http://127.0.0.1:9") == Reserves(*MAINNET_RESERVES)  # nothing listens
    assert "http://127.0.0.1:9 gave no reserves" in capsys.readouterr().err


def test_a_stack_without_the_outputs_it_needs_is_named_with_what_is_missing(
    deployed: dict[str, Any],
) -> None:
    cloudformation = administrator(deployed, "cloudformation")
    outputs = {k: v for k, v in deployed["stack"]["outputs"].items() if k != "XrplNetwork"}
    record_stack(cloudformation, "Drexfy-old", outputs)
    old = bootstrap(deployed, "--stack", "Drexfy-old")
    unknown = bootstrap(deployed, "--stack", "Drexfy-nowhere")
    assert old.returncode == 2 and "has no output XrplNetwork" in old.stderr, old.stderr
    assert unknown.returncode == 2 and "no stack Drexfy-nowhere" in unknown.stderr


def test_the_stand_in_faucet_funds_a_wallet_through_xrpl_py_s_own_faucet_client(
    ledger: LocalLedger,
) -> None:
    from xrpl.clients import JsonRpcClient
    from xrpl.wallet import Wallet, generate_faucet_wallet

    wallet = Wallet.create()
    with faucet(ledger.rpc_url) as (url, asked):
        funded = generate_faucet_wallet(JsonRpcClient(ledger.rpc_url), wallet, faucet_host=url)
    assert funded.address == wallet.address and len(asked) == 1
    root = ledger_account(ledger, wallet.address)
    assert int(root["Balance"]) == PAID_XRP * 1_000_000


def ledger_account(ledger: LocalLedger, address: str) -> dict[str, Any]:
    from lambdas.ledger_adapter.client import LedgerClient

    root = LedgerClient(ledger.rpc_url).account_root(address)
    assert root is not None
    return root

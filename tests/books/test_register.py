"""The holder register on the running platform: two investors buy, an operator blocks one.
The register reads back what the validated ledger shows (units, locks, freezes, every change
of the company's in order) and names each change's purchase execution and the operator who
blocked; as of an earlier ledger it is the register of then; the frontend gives each investor
their own extract, never saying why a lock was placed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.frontend.gateway import Frontend
from tests.investors.conftest import drexfy_ops, operator_decision
from tests.servicing.conftest import buy, ledger_closing_on_waits, new_instrument
from tests.support.books import units_held

__all__ = ["drexfy_ops"]  # the fixture, used by name


@pytest.fixture(scope="module")
def holders(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], drexfy_ops: Callable[..., Any]
) -> dict[str, Any]:
    from lambdas.records import instruments, wallets

    with ledger_closing_on_waits(ledger):
        instrument = new_instrument(platform, ledger, "REG")
        ada = buy(aws, ledger, instrument, 2)
        before_bob = platform["client"].validated_ledger_index()
        bob = buy(aws, ledger, instrument, 1)
        blocked = operator_decision(aws, drexfy_ops, "block", bob, "suspicious transfers")
    assert blocked["status"] == "SUCCEEDED", blocked
    listed = instruments.find(instrument)
    assert listed is not None
    addresses = {i: w.address for i in (ada, bob) if (w := wallets.find(i)) is not None}
    return {
        "instrument": instrument, "issuance": listed.issuance_id, "ada": ada, "bob": bob,
        "addresses": addresses, "before_bob": before_bob,
    }  # fmt: skip


def company_transactions(platform: dict[str, Any], index: int) -> list[dict[str, Any]]:
    client, company = platform["client"], platform["accounts"].company
    return list(client.transactions_up_to(company, index))


def test_the_register_reads_back_the_ledger_and_names_each_changes_cause(
    holders: dict[str, Any], platform: dict[str, Any], drexfy_ops: Callable[..., Any]
) -> None:
    register = drexfy_ops("register", holders["instrument"])
    client, issuance = platform["client"], holders["issuance"]
    by_investor = {h["investor_id"]: h for h in register["holders"]}
    assert set(by_investor) == {holders["ada"], holders["bob"]}
    for investor, address in holders["addresses"].items():
        assert by_investor[investor]["address"] == address
        assert by_investor[investor]["units"] == units_held(client, address, issuance)
    assert by_investor[holders["ada"]]["restrictions"] == []
    assert by_investor[holders["bob"]]["restrictions"] == ["FROZEN", "LOCKED"]
    assert register["units"] == 3
    nominal = by_investor[holders["ada"]]["outstanding_nominal"]
    assert nominal == str(2 * D(register["nominal_per_unit"]))

    kinds = [(c["investor_id"], c["kind"], c["units"]) for c in register["changes"]]
    assert kinds == [
        (holders["ada"], "ISSUED", 2), (holders["bob"], "ISSUED", 1), (holders["bob"], "LOCKED", 0),
    ]  # fmt: skip
    on_ledger = {
        e["hash"] for e in company_transactions(platform, register["ledger_index"])
        if e["meta"]["TransactionResult"] == "tesSUCCESS"
    }  # fmt: skip
    assert {c["tx_hash"] for c in register["changes"]} <= on_ledger
    issued, _, locked = register["changes"]
    assert issued["cause"].endswith(" deliver") and ":execution:" in issued["execution"]
    assert locked["cause"].startswith("AML case operator-") and locked["operator"]
    assert locked["operator"] != "operator"  # who it was, not only that it was one


def test_a_register_as_of_an_earlier_ledger_is_the_register_of_then(
    holders: dict[str, Any], drexfy_ops: Callable[..., Any]
) -> None:
    then = drexfy_ops("register", holders["instrument"], "--ledger", str(holders["before_bob"]))
    assert [(h["investor_id"], h["units"]) for h in then["holders"]] == [(holders["ada"], 2)]
    assert [c["kind"] for c in then["changes"]] == ["ISSUED"]
    assert then["ledger_index"] == holders["before_bob"]


def test_the_register_as_csv(holders: dict[str, Any], aws: LocalAws, tmp_path: Path) -> None:
    from local.aws.server import write_state
    from ops.cli import main

    state_file, out = tmp_path / "aws.json", io.StringIO()
    write_state(state_file, aws)
    command = ["--state-file", str(state_file), "register", holders["instrument"], "--csv"]
    assert main(command, out=out) == 0
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["instrument_id", "issuance_id", "ledger_index", "as_of"]
    assert rows[1][:2] == [holders["instrument"], holders["issuance"]]
    header = rows.index(["address", "investor_id", "units", "outstanding_nominal", "restrictions",
                         "held_in_suspense"])  # fmt: skip
    assert {r[1] for r in rows[header + 1 : header + 3]} == {holders["ada"], holders["bob"]}
    assert "FROZEN LOCKED" in {r[4] for r in rows[header + 1 : header + 3]}


def frontend(aws: LocalAws) -> Frontend:
    secret = aws.client("secretsmanager").get_secret_value(
        SecretId=aws.stack.output("FrontendApiSecretArn")
    )
    return Frontend(secret["SecretString"])


def test_each_investor_gets_their_own_extract_and_never_why_a_lock_was_placed(
    aws: LocalAws, holders: dict[str, Any]
) -> None:
    api, instrument = frontend(aws), holders["instrument"]
    path = "/investors/{}/holdings/" + instrument + "/register-extract"
    ada = api.get(path.format(holders["ada"]))
    assert ada.status == 200, ada.body
    assert ada.body["holding"]["units"] == 2 and ada.body["holding"]["restrictions"] == []
    assert [c["kind"] for c in ada.body["changes"]] == ["ISSUED"]
    bob = api.get(path.format(holders["bob"]))
    assert bob.status == 200
    assert bob.body["holding"]["restrictions"] == ["FROZEN", "LOCKED"]
    assert [c["kind"] for c in bob.body["changes"]] == ["ISSUED", "LOCKED"]
    assert "AML" not in json.dumps(bob.body) and "suspicious" not in json.dumps(bob.body)
    assert holders["ada"] not in json.dumps(bob.body)  # nobody else's lines
    assert api.get(f"/investors/{holders['ada']}/holdings/NO-SUCH/register-extract").status == 404
    assert api.get(path.format("inv-nobody")).status == 404
    assert api.get(path.format(holders["ada"]), token=None).status == 401

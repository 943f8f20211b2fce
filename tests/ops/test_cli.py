"""`drexfy-ops` against the embedded platform: listing, one purchase, redrive, block, accounts."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from domain.purchase import purchase_id_for
from local.aws.platform import LocalAws
from tests.investors.conftest import decision, run_decision
from tests.support.books import stablecoin_outstanding
from tests.support.waiting import wait_for
from tests.workflows.conftest import payment, run_payment
from tests.workflows.faults import Faults


@pytest.fixture(scope="module")
def state_file(aws: LocalAws, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from local.aws.server import write_state

    path = tmp_path_factory.mktemp("ops") / "aws.json"
    write_state(path, aws)
    return path


def ops(state_file: Path, *args: str) -> tuple[int, Any]:
    """Run the tool in this process; its answer is written to its own stream, apart from the
    logs the in-process Lambdas print meanwhile."""
    from ops.cli import main

    out = io.StringIO()
    code = main(["--state-file", str(state_file), "--json", *args], out=out)
    text = out.getvalue()
    try:
        return code, json.loads(text)
    except ValueError:
        raise AssertionError(f"not JSON: {text!r}") from None


@pytest.fixture
def investor_id(aws: LocalAws, platform: dict[str, Any]) -> str:
    investor = f"inv-{uuid.uuid4().hex[:8]}"
    run_decision(aws, "KycApproved", decision(investor))
    return investor


@pytest.mark.handlers_in_test_process
def test_purchases_and_one_purchase_and_a_redrive(
    aws: LocalAws,
    state_file: Path,
    investor_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from domain.errors import TransientFault

    delivered = payment(investor_id, units=1, amount="100.00")
    run_payment(aws, delivered)
    faults = Faults(monkeypatch)
    faults.ledger_step("mint", "after")
    faults.ledger_step("claw-back-stablecoin", "before", error=TransientFault)
    parked = payment(investor_id, units=1, amount="100.00")
    run_payment(aws, parked)

    code, rows = ops(state_file, "purchases")
    assert code == 0
    assert rows[0]["status"] == "NEEDS_OPERATOR", "parked purchases come first"
    ours = purchase_id_for(parked["payment_id"])  # other tests of this process park theirs too
    row = next(r for r in rows if r["purchase_id"] == ours)
    assert row["status"] == "NEEDS_OPERATOR" and "claw-back-stablecoin" in row["reason"]
    assert rows.index(row) < next(
        (i for i, r in enumerate(rows) if r["status"] != "NEEDS_OPERATOR"), len(rows)
    ), "parked purchases come first"

    code, one = ops(state_file, "purchase", ours)
    assert one["status"] == "NEEDS_OPERATOR" and "mint" in one["transactions"]
    assert any('entered "Park for operator"' in line for line in one["history"])

    monkeypatch.undo()
    code, result = ops(state_file, "redrive", ours, "--wait")
    assert (code, result["execution"], result["status"]) == (0, "SUCCEEDED", "REFUNDED")
    code, refused = ops(state_file, "redrive", ours)
    assert code == 1 and "SUCCEEDED" in refused["error"], "a finished purchase: nothing to redrive"


def test_an_operator_blocks_an_investor_through_compliance(
    aws: LocalAws, state_file: Path, investor_id: str
) -> None:
    from lambdas.records import investors as investor_records

    code, event = ops(state_file, "investor", investor_id, "block", "--reason", "court order")
    assert code == 0 and event["event_id"]
    wait_for(lambda: investor_records.find(investor_id).status == "BLOCKED")  # type: ignore[union-attr]


def test_accounts_match_the_ledger(state_file: Path, platform: dict[str, Any]) -> None:
    code, books = ops(state_file, "accounts")
    assert code == 0
    assert {a["account"] for a in books["accounts"]} == {"issuer", "company", "funding"}
    outstanding = stablecoin_outstanding(platform["client"], platform["accounts"].issuer)
    assert books["stablecoin_outstanding"] == str(outstanding)
    for instrument in books["instruments"]:  # units repaid at maturity are taken back
        assert instrument["on_ledger"] == instrument["sold"] - instrument["redeemed"]


def test_the_console_script_is_installed_with_help_for_every_command() -> None:
    import subprocess
    import sys

    tool = Path(sys.executable).with_name("drexfy-ops")
    for command in (
        [],
        ["purchases"],
        ["purchase"],
        ["redrive"],
        ["replay"],
        ["investor"],
        ["accounts"],
    ):
        result = subprocess.run([str(tool), *command, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "usage: drexfy-ops" in result.stdout

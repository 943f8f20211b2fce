"""Investor statements on the running platform: an investor buys, is paid a coupon and
withdraws part of it. Their statement for the month lists each line with its date and
transaction, and its closing holdings are what the ledger shows; money that reached the wallet
outside every record (a test's own mint) makes a statement that says it does not tie."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.frontend.gateway import Frontend
from tests.servicing.conftest import finished, fund_company, ledger_closing_on_waits, new_instrument
from tests.support.books import stablecoin_balance, units_held
from tests.withdrawals.conftest import eur_holder, kyc_approved
from tests.withdrawals.conftest import finished as finished_for_withdrawal
from tests.workflows.conftest import payment, run_payment

# Quarterly from 2026-03-07: a first payment date (2026-06-07) no other test pays on.
TERMS = {"issue_date": "2026-03-07", "maturity": "2027-03-07", "payments_per_year": 4,
         "pays_automatically": True}  # fmt: skip


def this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def frontend(aws: LocalAws) -> Frontend:
    secret = aws.client("secretsmanager").get_secret_value(
        SecretId=aws.stack.output("FrontendApiSecretArn")
    )
    return Frontend(secret["SecretString"])


@pytest.fixture(scope="module")
def investor(aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]) -> dict[str, Any]:
    """Bought 2 units, paid their first coupon, withdrew 1.00 EUR of it to the bank."""
    from domain.cash_flows import schedule
    from lambdas.records import instruments

    with ledger_closing_on_waits(ledger):
        instrument = new_instrument(platform, ledger, "STM", **TERMS)
        fund_company(aws, Decimal("1000.00"))
        investor_id, address = kyc_approved(ledger)
        detail = payment(investor_id, instrument_id=instrument, units=2, amount="200.00")
        assert json.loads(run_payment(aws, detail)["output"])["status"] == "DELIVERED"
        listed = instruments.find(instrument)
        assert listed is not None and listed.terms is not None
        day = schedule(listed.terms)[0].payment_date
        sfn = aws.client("stepfunctions")
        name = f"{instrument}-{day.isoformat()}"
        request = {"instrument_id": instrument, "payment_date": day.isoformat()}
        sfn.start_execution(
            stateMachineArn=aws.stack.output("DistributionStateMachineArn"),
            name=name, input=json.dumps(request),
        )  # fmt: skip
        assert finished(aws, name)["status"] == "SUCCEEDED"
        body = json.dumps({"amount": "1.00"})
        asked = frontend(aws).post(f"/investors/{investor_id}/withdrawals", body=body)
        assert asked.status == 202, asked
        withdrawal_id = asked.body["withdrawal_id"]
        (settled,) = finished_for_withdrawal(aws, "Settlement", withdrawal_id)
        assert settled["status"] == "SUCCEEDED"
    return {"investor_id": investor_id, "address": address, "instrument": instrument,
            "issuance": listed.issuance_id, "withdrawal_id": withdrawal_id}  # fmt: skip


def test_the_months_statement_lists_every_line_and_ties_to_the_ledger(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, Any]
) -> None:
    answer = frontend(aws).get(f"/investors/{investor['investor_id']}/statements/{this_month()}")
    assert answer.status == 200, answer.body
    made = answer.body
    assert made["ties_to_the_ledger"] is True and made["untied"] == []
    kinds = [(x["kind"], x["units"], Decimal(x["stablecoin_change"])) for x in made["lines"]]
    coupon = next(x for x in made["lines"] if x["kind"] == "COUPON")
    assert kinds == [
        ("PURCHASE", 2, 0), ("COUPON", 0, Decimal(coupon["amount"])), ("WITHDRAWAL", 0, -1),
    ]  # fmt: skip
    assert all(x["tx_hash"] and x["on"] for x in made["lines"])
    assert made["lines"][-1]["reference"] == investor["withdrawal_id"]
    client, issuer = platform["client"], platform["accounts"].issuer
    closing = made["closing"]
    assert Decimal(closing["stablecoin"]) == stablecoin_balance(client, investor["address"], issuer)
    assert closing["units"] == {
        investor["instrument"]: units_held(client, investor["address"], investor["issuance"])
    }
    assert made["totals"]["purchase"] == "200.00" and made["totals"]["withdrawal"] == "1.00"
    assert Decimal(made["totals"]["coupon"]) == Decimal(coupon["amount"]) > 0


def test_an_earlier_period_has_no_lines_and_nothing_held(
    aws: LocalAws, investor: dict[str, Any]
) -> None:
    made = frontend(aws).get(f"/investors/{investor['investor_id']}/statements/2025").body
    assert made["lines"] == [] and made["closing"]["units"] == {}
    assert made["ties_to_the_ledger"] is True


def test_money_outside_every_record_makes_a_statement_that_says_it_does_not_tie(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]
) -> None:
    holder = eur_holder(aws, ledger, platform, eur="7.00")  # minted by the test, unrecorded
    made = frontend(aws).get(f"/investors/{holder['investor_id']}/statements/{this_month()}").body
    assert made["ties_to_the_ledger"] is False
    assert made["untied"] == ["stablecoin: 0 + 0.00 is not 7 on the ledger"]


def test_bad_periods_and_unknown_investors_are_refused(
    aws: LocalAws, investor: dict[str, Any]
) -> None:
    api = frontend(aws)
    refused = api.get(f"/investors/{investor['investor_id']}/statements/2026-13")
    assert (refused.status, refused.body["error"]) == (422, "invalid_period")
    assert api.get("/investors/inv-nobody/statements/2026").status == 404


def test_drexfy_ops_prints_the_statement_as_csv(
    aws: LocalAws, investor: dict[str, Any], tmp_path: Path
) -> None:
    from local.aws.server import write_state
    from ops.cli import main

    state_file, out = tmp_path / "aws.json", io.StringIO()
    write_state(state_file, aws)
    command = ["--state-file", str(state_file), "statement", investor["investor_id"],
               "--period", this_month(), "--csv"]  # fmt: skip
    assert main(command, out=out) == 0
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[1][:2] == [investor["investor_id"], this_month()] and rows[1][-1] == "True"
    kinds = [r[1] for r in rows if len(r) > 1 and r[1] in ("PURCHASE", "COUPON", "WITHDRAWAL")]
    assert kinds == ["PURCHASE", "COUPON", "WITHDRAWAL"]

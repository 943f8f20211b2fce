"""Statements kept as documents: the Statements workflow makes each investor's CSV and PDF for
an ended period, on the 1st's schedule or when the investor asks; the frontend hands out links
that expire. A period to date is never kept: its document would change under its reader."""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.books.test_statements import frontend
from tests.frontend.gateway import Answer
from tests.reliability.http_client import send
from tests.support.waiting import wait_for
from tests.withdrawals.conftest import kyc_approved


def last_month() -> str:
    first = datetime.now(UTC).date().replace(day=1)
    before = (
        date(first.year - 1, 12, 1) if first.month == 1 else first.replace(month=first.month - 1)
    )
    return before.strftime("%Y-%m")


def statements_run(aws: LocalAws, name: str, request: dict[str, Any]) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=aws.stack.output("StatementsStateMachineArn"),
        name=name,
        input=json.dumps(request),
    )["executionArn"]
    return finished(aws, arn)


def finished(aws: LocalAws, execution_arn: str) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")

    def ended() -> dict[str, Any] | None:
        run: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        return None if run["status"] == "RUNNING" else run

    return wait_for(ended, timeout=300)


def fetched(url: str) -> tuple[int, bytes, str]:
    """An investor following a link: (status, body, Content-Disposition)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read(), answer.headers.get("Content-Disposition", "")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read(), ""


def over_http(aws: LocalAws, method: str, path: str) -> Answer:
    """The frontend API through the local gateway: its function runs as its own role, so the
    links it hands out are signed with that role's keys."""
    token = frontend(aws).token
    assert aws.api_url is not None
    headers = [("Authorization", f"Bearer {token}")]
    status, body, received = send(aws.api_url, method, path, headers, b"")
    return Answer(status, received, body)


@pytest.fixture(scope="module")
def investor(ledger: LocalLedger) -> str:
    investor_id, _ = kyc_approved(ledger)
    return investor_id


def test_an_investor_asks_for_last_months_documents_and_gets_links_to_both(
    aws: LocalAws, investor: str
) -> None:
    period = last_month()
    path = f"/investors/{investor}/statements/{period}/documents"
    missing = over_http(aws, "GET", path)
    assert (missing.status, missing.body["error"]) == (404, "statement_not_kept")

    asked = over_http(aws, "POST", path)
    assert asked.status == 202, asked.body
    execution = asked.body["execution"]
    assert execution.startswith(f"statement-{period}-{investor}-")
    assert over_http(aws, "POST", path).body["execution"] == execution, "one run per hour"
    arn = aws.stack.output("StatementsStateMachineArn").replace(":stateMachine:", ":execution:")
    run = finished(aws, f"{arn}:{execution}")
    assert run["status"] == "SUCCEEDED", run
    assert json.loads(run["output"]) == {"periods": [period], "made": 1}

    links = over_http(aws, "GET", path)
    assert links.status == 200, links.body
    assert links.body["expires_at"] > datetime.now(UTC).isoformat()
    status, body, disposition = fetched(links.body["csv"])
    assert status == 200, body
    rows = list(csv.reader(io.StringIO(body.decode())))
    statement = frontend(aws).get(f"/investors/{investor}/statements/{period}").body
    assert rows[1] == [investor, period, statement["starts"][:10], statement["ends"][:10], "True"]
    assert f"drexfy-statement-{investor}-{period}.csv" in disposition
    status, pdf, _ = fetched(links.body["pdf"])
    assert status == 200 and pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    again = over_http(aws, "POST", path)
    assert again.status == 200 and again.body["period"] == period, "kept already: the links"


def test_a_link_is_refused_once_altered_or_expired(aws: LocalAws, investor: str) -> None:
    """As S3 refuses them: another investor's key under the same signature, an expiry moved
    later, an unsigned request, a link past its lifetime, a forged or a SigV2 signature."""
    period = last_month()
    made = statements_run(aws, f"links-{investor}", {"period": period, "investor_id": investor})
    assert made["status"] == "SUCCEEDED", made
    links = over_http(aws, "GET", f"/investors/{investor}/statements/{period}/documents").body
    link = links["csv"]
    assert fetched(link)[0] == 200
    assert fetched(link.replace(f"/{investor}/", "/inv-someone-else/"))[0] == 403
    assert fetched(link.replace("X-Amz-Expires=900", "X-Amz-Expires=9000"))[0] == 403
    assert fetched(link.split("?")[0])[0] == 403
    s3 = signing_client(link, key="testing", secret="testing")  # the local administrator's
    bucket, key = urlsplit(link).path.lstrip("/").split("/", 1)
    params = {"Bucket": bucket, "Key": key}
    assert fetched(s3.generate_presigned_url("get_object", params))[0] == 200
    short = s3.generate_presigned_url("get_object", params, ExpiresIn=1)
    time.sleep(2)
    assert fetched(short)[0] == 403
    forged = signing_client(link, key="testing", secret="guessed")
    assert fetched(forged.generate_presigned_url("get_object", params))[0] == 403
    # mock_aws's own administrator (no session token), as an in-process handler signs
    in_process = signing_client(link, key="FOOBARKEY", secret="FOOBARSECRET", token=None)
    assert fetched(in_process.generate_presigned_url("get_object", params))[0] == 200
    sigv2 = signing_client(link, key="testing", secret="testing", version="s3")
    assert "AWSAccessKeyId=" in sigv2.generate_presigned_url("get_object", params)
    assert fetched(sigv2.generate_presigned_url("get_object", params))[0] == 403, "SigV2"


def signing_client(
    link: str, key: str, secret: str, version: str = "s3v4", token: str | None = "testing"
) -> Any:
    endpoint = "{0.scheme}://{0.netloc}".format(urlsplit(link))
    return boto3.client(
        "s3", region_name="eu-west-1", endpoint_url=endpoint, aws_access_key_id=key,
        aws_secret_access_key=secret, aws_session_token=token,
        config=Config(signature_version=version),
    )  # fmt: skip


def test_a_period_to_date_or_an_investor_without_a_wallet_is_refused(
    aws: LocalAws, investor: str
) -> None:
    api, this_month = frontend(aws), datetime.now(UTC).strftime("%Y-%m")
    refused = api.post(f"/investors/{investor}/statements/{this_month}/documents", body="")
    assert (refused.status, refused.body["error"]) == (409, "period_not_ended")
    unknown = api.post(f"/investors/inv-nobody/statements/{last_month()}/documents", body="")
    assert unknown.status == 404
    bad = api.get(f"/investors/{investor}/statements/2026-13/documents")
    assert (bad.status, bad.body["error"]) == (422, "invalid_period")


def test_the_workflow_refuses_a_period_that_has_not_ended(aws: LocalAws, investor: str) -> None:
    this_month = datetime.now(UTC).strftime("%Y-%m")
    run = statements_run(aws, f"refused-{investor}", {"period": this_month})
    assert (run["status"], run["error"]) == ("FAILED", "StatementsRequestRefused")
    assert f"{this_month} has not ended" in run["cause"]


def test_a_statement_that_cannot_be_made_is_named_and_fails_the_run(
    aws: LocalAws, investor: str
) -> None:
    period = last_month()
    request = {"period": period, "investor_id": "inv-never-onboarded"}
    run = statements_run(aws, f"no-wallet-{investor}", request)
    assert (run["status"], run["error"]) == ("FAILED", "StatementsNotMade")
    assert run["cause"].startswith(f"1 not made (0 made): inv-never-onboarded {period}: ")
    assert "MalformedTaskInput" in run["cause"] and "no wallet" in run["cause"]


def test_the_first_of_the_month_makes_every_investors_statements(
    aws: LocalAws, investor: str
) -> None:
    """Fired as at 1 January 01:00: the month, the quarter and the year that ended, for every
    investor with a wallet (the investors of this worker's earlier tests too)."""
    from lambdas.books import documents
    from lambdas.records import wallets
    from local.aws import schedules

    year = datetime.now(UTC).year - 1
    rule = next(r for r in schedules.scheduled_rules() if "PeriodEnd" in r.name)
    fired_at = datetime(year + 1, 1, 1, 1, tzinfo=UTC)
    assert schedules.due_at(rule.scheduled_expression or "", fired_at)
    assert schedules.fire(fired_at, only=rule.name) == 1

    sfn, arn = aws.client("stepfunctions"), aws.stack.output("StatementsStateMachineArn")
    scheduled_at = fired_at.strftime("%Y-%m-%dT%H:%M:%SZ")  # EventBridge's time

    def the_run() -> dict[str, Any] | None:
        for run in sfn.list_executions(stateMachineArn=arn)["executions"]:
            described = sfn.describe_execution(executionArn=run["executionArn"])
            if json.loads(described["input"]).get("scheduled_at") == scheduled_at:
                return described
        return None

    run = finished(aws, wait_for(the_run, timeout=60)["executionArn"])
    assert run["status"] == "SUCCEEDED", run.get("cause")
    output = json.loads(run["output"])
    periods = [f"{year}-12", f"{year}-Q4", str(year)]
    assert output["periods"] == periods
    everyone, after = [], None
    while True:
        page, after = wallets.investors_with_wallets(after, 100)
        everyone += page
        if after is None:
            break
    assert investor in everyone and output["made"] == len(everyone) * len(periods)
    bucket = aws.stack.output("ServicingBucketName")
    kept = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"statements/{investor}/")
    made = {o["Key"] for o in kept["Contents"]}  # with last month's, asked for above
    assert made >= {
        documents.key_of(investor, documents.Period.parse(p), form)
        for p in periods
        for form in ("csv", "pdf")
    }


def test_a_statement_as_pdf_is_the_same_bytes_each_time_it_is_made() -> None:
    from domain.statement import Line, LineKind, Period, Position, statement
    from lambdas.books.documents import pdf

    november = Period.parse("2026-11")
    line = Line(
        datetime(2026, 11, 3, 10, tzinfo=UTC), LineKind.PURCHASE, "purchase-1",
        Decimal("200.00"), "SME-2027-A", 2, "AB" * 32, 120,
    )  # fmt: skip
    made = statement(
        "inv-ada", november, Position(100, None, Decimal(0)),
        Position(200, None, Decimal(0), {"SME-2027-A": 2}), [line],
    )  # fmt: skip
    assert made.untied() == []
    first = pdf(made)
    assert first == pdf(made) and first.startswith(b"%PDF-")
    assert len(first) < 20_000


def test_drexfy_ops_keeps_statements_and_names_what_it_could_not_make(
    aws: LocalAws, investor: str, tmp_path: Path
) -> None:
    from local.aws.server import write_state
    from ops.cli import main

    state_file = tmp_path / "aws.json"
    write_state(state_file, aws)

    def drexfy_ops(*command: str) -> tuple[int, str]:
        out = io.StringIO()
        code = main(["--state-file", str(state_file), *command], out=out)
        return code, out.getvalue()

    period = last_month()
    code, said = drexfy_ops("statements", "--period", period, "--investor", investor)
    assert (code, said.strip()) == (0, f"1 statements made for ['{period}']")
    code, said = drexfy_ops("statements", "--period", period, "--investor", "inv-nobody")
    assert code == 2 and said.startswith("StatementsNotMade: 1 not made (0 made): inv-nobody")
    this_month = datetime.now(UTC).strftime("%Y-%m")
    code, said = drexfy_ops("statements", "--period", this_month)
    assert code == 2 and "StatementsRequestRefused" in said and "has not ended" in said

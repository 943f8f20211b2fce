"""`drexfy-ops --stack`: configuration from DescribeStacks, acting as the operators' role.

The embedded platform (the `aws` fixture) is recorded as a CloudFormation stack with
`record_stack`, as the deployer does after a deploy, and the tool runs against it in this
process. The embedded AWS enforces IAM, so a command run with `--role-arn` succeeds only if the
operators' role (cdk/operators.py) grants every call it makes, and each call is recorded; and
it evaluates the role's trust policy, so assuming it takes an MFA device and code.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from domain.purchase import purchase_id_for
from local.aws import access
from local.aws.platform import LocalAws
from local.aws.stack_record import record_stack
from ops.stack import LAMBDA_ENVIRONMENT_OUTPUTS, session_name
from tests.investors.conftest import decision, run_decision
from tests.support.waiting import wait_for
from tests.workflows.conftest import payment, run_payment


@pytest.fixture(scope="module")
def stack(aws: LocalAws) -> dict[str, str]:
    """The platform's outputs as the deployer recorded them in CloudFormation (`Drexfy-local`):
    configuration outputs state what the functions got (XrplUrls are the test ledger)."""
    recorded = aws.client("cloudformation").describe_stacks(StackName=aws.stack.name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in recorded["Outputs"]}
    assert outputs == aws.stack.outputs
    environment = aws.stack.function_environment
    assert outputs["XrplUrls"] == environment["XRPL_URLS"], "the local override, not the template's"
    for variable, output in LAMBDA_ENVIRONMENT_OUTPUTS.items():
        if variable in environment:  # what some function is given
            assert outputs.get(output) == environment[variable], output
    return outputs


def _forget_clients() -> None:
    """The Lambdas' code keeps its clients for the life of the process (pynamodb's per model,
    the KMS client, the platform keys): forget them, so the next use builds them anew from
    the environment."""
    from pynamodb.models import Model

    from lambdas import aws_clients
    from lambdas.custody import platform_signer
    from lambdas.records import tables

    boto3.DEFAULT_SESSION = None
    aws_clients.kms.cache_clear()
    platform_signer.platform_key.cache_clear()
    tables.forget_process_client()
    models = list(Model.__subclasses__())  # every records model, wherever it is declared
    while models:
        model = models.pop()
        model._connection = None
        models += model.__subclasses__()


@contextmanager
def own_process() -> Iterator[dict[str, str]]:
    """The tool as if in a process of its own: the Lambdas' code builds its clients from the
    environment the tool sets (credentials, configuration); afterwards this process gets its
    environment and clients back. Yields the environment the tool left, once it is done."""
    saved = dict(os.environ)
    left: dict[str, str] = {}
    _forget_clients()
    try:
        yield left
        left.update(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _forget_clients()


def drexfy_ops(*args: str, environ: dict[str, str] | None = None) -> tuple[int, Any]:
    """Run the tool in its own process (`own_process`); `environ` receives what it left."""
    from ops.cli import main

    out = io.StringIO()
    with own_process() as left:
        code = main(["--json", *args], out=out)
    if environ is not None:
        environ.update(left)
    try:
        return code, json.loads(out.getvalue())
    except ValueError:
        raise AssertionError(f"not JSON: {out.getvalue()!r}") from None


# An operator's MFA device and a code from it (the embedded AWS checks that they are given and
# well formed: there are no devices to check the code against).
MFA_DEVICE = "arn:aws:iam::123456789012:mfa/alice"
WITH_MFA = ("--mfa-serial", MFA_DEVICE, "--mfa-code", "123456")


def as_operator(stack: dict[str, str], *args: str, **kwargs: Any) -> tuple[int, Any]:
    role = stack["OperatorsRoleArn"]
    return drexfy_ops("--stack", "Drexfy-local", "--role-arn", role, *WITH_MFA, *args, **kwargs)


def calls_by(role_arn: str, run: Callable[[], Any]) -> tuple[Any, set[tuple[str, str, str]]]:
    """What `run` returned and the (action, resource, decision) the role was checked for."""
    before = Counter(access.Enforcement.recorded)
    result = run()
    after = Counter(access.Enforcement.recorded) - before
    return result, {(a, r, d) for (p, a, r, d) in after if p == role_arn}


def settled(aws: LocalAws, *decisions: dict[str, Any]) -> None:
    """The compliance runs an operator's decisions started have finished: none runs on into
    the next test (their Wait states close the shared ledger)."""
    from tests.investors.conftest import finished

    for made in decisions:
        assert finished(aws, "Compliance", made["case_id"])


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:eu-west-1:123456789012:{resource}"


@pytest.fixture
def investor_id(aws: LocalAws, platform: dict[str, Any]) -> str:
    investor = f"inv-{uuid.uuid4().hex[:8]}"
    run_decision(aws, "KycApproved", decision(investor))
    return investor


# --- configuration ------------------------------------------------------------------------------


def test_the_configuration_comes_from_the_stacks_outputs(
    aws: LocalAws,
    stack: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from ops.cli import Platform

    with own_process():
        platform = Platform.from_stack("Drexfy-local")
    assert platform.outputs == stack and not platform.local

    for variable in LAMBDA_ENVIRONMENT_OUTPUTS:  # nothing but the stack to configure it
        monkeypatch.delenv(variable, raising=False)
    absent = tmp_path / "absent.json"
    left: dict[str, str] = {}
    code, rows = drexfy_ops(
        "--state-file", str(absent), "--stack", "Drexfy-local", "purchases", environ=left
    )
    assert code == 0 and isinstance(rows, list)
    for variable, output in LAMBDA_ENVIRONMENT_OUTPUTS.items():
        assert left[variable] == stack[output], "the Lambdas' code gets the outputs"
    assert left["AWS_REGION"] == "eu-west-1"


def test_a_missing_output_is_an_error_naming_it_and_the_stack(
    aws: LocalAws, stack: dict[str, str]
) -> None:
    partial = {k: v for k, v in stack.items() if k not in ("XrplUrls", "EventArchiveArn")}
    record_stack(aws.client("cloudformation"), "Drexfy-partial", partial)

    code, answer = drexfy_ops("--stack", "Drexfy-partial", "accounts")
    assert code == 2
    assert answer["error"].startswith("stack Drexfy-partial has no output XrplUrls (needed by")
    code, answer = drexfy_ops(
        "--stack", "Drexfy-partial", "replay", "--from", "2026-01-01T00:00:00+00:00",
        "--to", "2026-01-01T01:00:00+00:00",
    )  # fmt: skip
    assert code == 2 and "Drexfy-partial has no output EventArchiveArn" in answer["error"]

    code, answer = drexfy_ops("--stack", "Drexfy-nowhere", "purchases")
    assert code == 2 and answer["error"].startswith("no stack Drexfy-nowhere in eu-west-1")


def test_without_a_stack_or_a_state_file_it_says_how_to_reach_aws(tmp_path: Path) -> None:
    code, answer = drexfy_ops("--state-file", str(tmp_path / "absent.json"), "purchases")
    assert code == 2 and "--stack Drexfy-<env>" in answer["error"]


# --- as the operators' role ---------------------------------------------------------------------


def test_role_arn_assumes_the_role_and_every_client_uses_its_credentials(
    aws: LocalAws, stack: dict[str, str], investor_id: str
) -> None:
    from moto.sts.models import sts_backends

    from lambdas.records import investors as investor_records

    role = stack["OperatorsRoleArn"]
    left: dict[str, str] = {}
    (code, event), calls = calls_by(
        role,
        lambda: as_operator(
            stack, "investor", investor_id, "block", "--reason", "court", environ=left
        ),
    )
    assert code == 0 and event["event_id"]
    stack_id = aws.client("cloudformation").describe_stacks(StackName="Drexfy-local")["Stacks"][0]
    bus = arn("events", f"event-bus/{stack['EventBusName']}")
    assert calls == {
        ("cloudformation:DescribeStacks", stack_id["StackId"], "Allow"),
        ("events:PutEvents", bus, "Allow"),
    }
    wait_for(lambda: investor_records.find(investor_id).status == "BLOCKED")  # type: ignore[union-attr]

    # The Lambdas' code (tables, keys) gets the role's credentials from the environment.
    exported = sts_backends["123456789012"]["aws"].get_assumed_role_from_access_key(
        left["AWS_ACCESS_KEY_ID"]
    )
    assert exported is not None and exported.role_arn == role
    assert exported.session_name == session_name() and session_name().startswith("drexfy-ops-")
    assert left["AWS_SESSION_TOKEN"] == exported.session_token

    (code, unblock), calls = calls_by(
        role, lambda: as_operator(stack, "investor", investor_id, "unblock", "--reason", "lifted")
    )
    assert code == 0 and ("events:PutEvents", bus, "Allow") in calls
    settled(aws, event, unblock)


def test_role_arn_works_with_the_local_state_file_too(
    aws: LocalAws, stack: dict[str, str], tmp_path: Path
) -> None:
    from local.aws.server import write_state

    state_file = tmp_path / "aws.json"
    write_state(state_file, aws)
    role = stack["OperatorsRoleArn"]
    (code, rows), calls = calls_by(
        role,
        lambda: drexfy_ops(
            "--state-file", str(state_file), "--role-arn", role, *WITH_MFA, "purchases"
        ),
    )
    assert code == 0 and isinstance(rows, list)
    assert {c[0] for c in calls} == {"dynamodb:Scan"}, "no stack to describe: the file says"


def test_each_command_makes_only_the_calls_the_role_grants(
    aws: LocalAws,
    stack: dict[str, str],
    investor_id: str,
) -> None:
    role = stack["OperatorsRoleArn"]
    resources = aws.stack.resources

    def table(name: str) -> str:
        return arn("dynamodb", f"table/{stack[f'{name}TableName']}")

    delivered = payment(investor_id, units=1, amount="100.00")
    execution = run_payment(aws, delivered)
    purchase_id = purchase_id_for(delivered["payment_id"])
    started = datetime.now(UTC) - timedelta(seconds=5)

    (code, rows), calls = calls_by(role, lambda: as_operator(stack, "purchases"))
    assert code == 0 and any(r["purchase_id"] == purchase_id for r in rows)
    assert {c for c in calls if not c[0].startswith("cloudformation:")} == {
        ("dynamodb:Scan", table("Purchases"), "Allow")
    }

    (code, one), calls = calls_by(role, lambda: as_operator(stack, "purchase", purchase_id))
    assert code == 0 and one["status"] == "DELIVERED" and one["history"]
    assert {c for c in calls if not c[0].startswith("cloudformation:")} == {
        ("dynamodb:GetItem", table("Purchases"), "Allow"),
        ("states:GetExecutionHistory", execution["executionArn"], "Allow"),
    }

    (code, refused), calls = calls_by(role, lambda: as_operator(stack, "redrive", purchase_id))
    assert code == 1 and "SUCCEEDED" in refused["error"], "nothing to redrive"
    assert {c for c in calls if not c[0].startswith("cloudformation:")} == {
        ("dynamodb:GetItem", table("Purchases"), "Allow"),
        ("states:DescribeExecution", execution["executionArn"], "Allow"),
    }

    window = ("--from", started.isoformat(), "--to", datetime.now(UTC).isoformat())
    (code, replayed), calls = calls_by(role, lambda: as_operator(stack, "replay", *window))
    assert code == 0 and replayed["State"] == "COMPLETED"
    bus = arn("events", f"event-bus/{stack['EventBusName']}")
    assert {c for c in calls if not c[0].startswith("cloudformation:")} == {
        ("events:DescribeEventBus", bus, "Allow"),
        ("events:StartReplay", stack["EventArchiveArn"], "Allow"),
        ("events:DescribeReplay", arn("events", f"replay/{replayed['ReplayName']}"), "Allow"),
    }

    (code, books), calls = calls_by(role, lambda: as_operator(stack, "accounts"))
    assert code == 0 and {a["account"] for a in books["accounts"]} == {
        "issuer", "company", "funding",
    }  # fmt: skip
    keys = {
        str(resources[k].attributes["Arn"])
        for k in resources
        if k.startswith(("KeysIssuerAccount", "KeysCompanyAccount", "KeysFundingAccount"))
    }
    assert len(keys) == 3
    assert {c for c in calls if not c[0].startswith("cloudformation:")} == {
        *(("kms:GetPublicKey", key, "Allow") for key in keys),
        ("dynamodb:Query", f"{table('Tickets')}/index/available", "Allow"),
        ("dynamodb:Scan", table("Instruments"), "Allow"),
    }


def test_the_role_may_not_do_more_than_drexfy_ops_does(
    aws: LocalAws, stack: dict[str, str]
) -> None:
    from ops.cli import Platform

    with own_process():
        platform = Platform.from_stack(
            "Drexfy-local",
            role_arn=stack["OperatorsRoleArn"],
            mfa_serial=MFA_DEVICE,
            mfa_code="123456",
        )
    events = platform.client("events")
    for source, detail_type in (
        ("drexfy.payments", "PaymentReceived"),  # a forged payment would start a purchase
        ("drexfy.kyc", "AmlFlagged"),
        ("drexfy.kyc", "KycApproved"),
        ("drexfy.operators", "KycApproved"),
        ("drexfy.purchases", "RefundRequested"),
    ):
        with pytest.raises(ClientError, match="AccessDenied"):
            events.put_events(
                Entries=[
                    {
                        "Source": source,
                        "DetailType": detail_type,
                        "EventBusName": stack["EventBusName"],
                        "Detail": "{}",
                    }
                ]
            )
    with pytest.raises(ClientError, match="AccessDenied"):
        platform.client("stepfunctions").start_execution(
            stateMachineArn=stack["PurchaseStateMachineArn"], input="{}"
        )
    with pytest.raises(ClientError, match="AccessDenied"):
        platform.client("dynamodb").scan(TableName=stack["WalletsTableName"])


def test_an_operators_command_without_its_grant_is_denied(
    aws: LocalAws, stack: dict[str, str], investor_id: str
) -> None:
    """Take PutEvents away from the operators' role: `investor block` fails with AccessDenied,
    and nothing reaches the bus; with the grant back it succeeds."""
    from tests.workflows.test_grants_enforced import without_grant_of_role

    role_name = stack["OperatorsRoleArn"].rsplit("/", 1)[-1]
    with without_grant_of_role(aws, role_name, "events:PutEvents"), own_process():
        code, refused = as_operator(stack, "investor", investor_id, "block", "--reason", "court")
    assert code != 0 and "AccessDenied" in json.dumps(refused)
    with own_process():
        code, event = as_operator(stack, "investor", investor_id, "block", "--reason", "court")
    assert code == 0 and event["event_id"]
    settled(aws, event)


def test_a_profile_that_assumes_the_role_acts_as_it(
    aws: LocalAws,
    stack: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A profile with `role_arn` and `mfa_serial`, as the AWS CLI uses it: botocore asks for
    the code (here answered by a stand-in for the terminal); without `mfa_serial` the role's
    trust policy refuses it."""
    import botocore.credentials

    profile = (
        "[profile drexfy-operator]\n"
        f"role_arn = {stack['OperatorsRoleArn']}\n"
        "source_profile = local-admin\n"
        "region = eu-west-1\n"
    )
    config = tmp_path / "config"
    config.write_text(profile)
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[local-admin]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    asked: list[str] = []
    prompter = botocore.credentials.AssumeRoleProvider.__init__.__defaults__
    assert prompter is not None
    monkeypatch.setattr(
        botocore.credentials.AssumeRoleProvider.__init__,
        "__defaults__",
        (lambda prompt: asked.append(prompt) or "123456", *prompter[1:]),
    )
    command = ("--stack", "Drexfy-local", "--profile", "drexfy-operator", "purchases")

    code, answer = drexfy_ops(*command)  # botocore assumes the role when credentials are read
    assert code != 0 and "AccessDenied" in answer["error"] and "sts:AssumeRole" in answer["error"]

    config.write_text(profile + f"mfa_serial = {MFA_DEVICE}\n")
    role = stack["OperatorsRoleArn"]
    (code, rows), calls = calls_by(role, lambda: drexfy_ops(*command))
    assert code == 0 and isinstance(rows, list)
    assert asked == [f"Enter MFA code for {MFA_DEVICE}: "]
    assert {c[0] for c in calls} == {"cloudformation:DescribeStacks", "dynamodb:Scan"}


# --- MFA ----------------------------------------------------------------------------------------


def test_the_role_is_not_assumed_without_mfa(aws: LocalAws, stack: dict[str, str]) -> None:
    """The trust policy demands MFA and the embedded AWS evaluates it: no device, no role, and
    nothing runs (the stack is not even read)."""
    role = stack["OperatorsRoleArn"]
    (code, answer), calls = calls_by(
        role, lambda: drexfy_ops("--stack", "Drexfy-local", "--role-arn", role, "purchases")
    )
    assert code == 2 and answer["error"].startswith(f"cannot assume {role}")
    assert "AccessDenied" in answer["error"] and "sts:AssumeRole" in answer["error"]
    assert calls == set()
    not_a_code = ("--mfa-serial", MFA_DEVICE, "--mfa-code", "12345x")
    code, answer = drexfy_ops(
        "--stack", "Drexfy-local", "--role-arn", role, *not_a_code, "purchases"
    )
    assert code == 2 and "AccessDenied" in answer["error"]


def test_the_device_may_come_from_the_profile(
    aws: LocalAws, stack: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text(f"[profile alice]\nregion = eu-west-1\nmfa_serial = {MFA_DEVICE}\n")
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[alice]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    role = stack["OperatorsRoleArn"]
    base = ("--stack", "Drexfy-local", "--profile", "alice", "--role-arn", role)

    (code, rows), calls = calls_by(
        role, lambda: drexfy_ops(*base, "--mfa-code", "123456", "purchases")
    )
    assert code == 0 and isinstance(rows, list) and calls

    code, answer = drexfy_ops(*base, "purchases")  # no terminal to ask for the code on
    assert code == 2 and answer["error"] == f"give --mfa-code: the current code of {MFA_DEVICE}"


def test_mfa_options_go_with_role_arn(aws: LocalAws, stack: dict[str, str]) -> None:
    code, answer = drexfy_ops("--stack", "Drexfy-local", *WITH_MFA, "purchases")
    assert code == 2 and "--role-arn" in answer["error"]
    code, answer = drexfy_ops(
        "--stack", "Drexfy-local", "--role-arn", stack["OperatorsRoleArn"], "--mfa-code",
        "123456", "purchases",
    )  # fmt: skip
    assert code == 2 and "--mfa-serial" in answer["error"]


def test_reconcile_and_its_reports_make_only_the_calls_the_role_grants(
    aws: LocalAws, stack: dict[str, str]
) -> None:
    """`reconcile` runs the workflow as the role and reads back the report it kept; listing
    and showing reports read the table. Exit 0 clean, 1 when the books differ."""
    role = stack["OperatorsRoleArn"]
    reports = arn("dynamodb", f"table/{stack['ReconciliationsTableName']}")
    machine = stack["ReconciliationStateMachineArn"]

    (code, report), calls = calls_by(role, lambda: as_operator(stack, "reconcile"))
    assert code == (0 if report["clean"] else 1) and report["ledger_index"] > 0
    assert report["reconciliation_id"].startswith("reconcile-")
    execution = machine.replace(":stateMachine:", ":execution:") + ":" + report["reconciliation_id"]
    assert {c for c in calls if not c[0].startswith("cloudformation:")} == {
        ("states:StartExecution", machine, "Allow"),
        ("states:DescribeExecution", execution, "Allow"),
        ("dynamodb:GetItem", reports, "Allow"),
    }

    (code, rows), calls = calls_by(role, lambda: as_operator(stack, "reconciliations"))
    assert code == 0 and report["reconciliation_id"] in {r["reconciliation"] for r in rows}
    assert {c for c in calls if not c[0].startswith("cloudformation:")} == {
        ("dynamodb:Scan", reports, "Allow")
    }

    shown = report["reconciliation_id"]
    (code, again), calls = calls_by(role, lambda: as_operator(stack, "reconciliation", shown))
    assert again == report and code == (0 if report["clean"] else 1)
    assert {c for c in calls if not c[0].startswith("cloudformation:")} == {
        ("dynamodb:GetItem", reports, "Allow")
    }
    assert as_operator(stack, "reconciliation", "no-such-report") == (
        2, {"error": "no reconciliation no-such-report"},
    )  # fmt: skip


def test_register_makes_only_the_calls_the_role_grants(
    aws: LocalAws, stack: dict[str, str], investor_id: str
) -> None:
    role = stack["OperatorsRoleArn"]
    delivered = payment(investor_id, units=1, amount="100.00")
    run_payment(aws, delivered)

    def table(name: str) -> str:
        return arn("dynamodb", f"table/{stack[f'{name}TableName']}")

    (code, register), calls = calls_by(role, lambda: as_operator(stack, "register", "SME-2027-A"))
    assert code == 0 and investor_id in {h["investor_id"] for h in register["holders"]}
    made = {(action, resource) for action, resource, decision in calls if decision == "Allow"}
    assert all(decision == "Allow" for _, _, decision in calls)
    assert {
        ("dynamodb:GetItem", table("Instruments")), ("dynamodb:Scan", table("Purchases")),
        ("dynamodb:Scan", table("Distributions")), ("dynamodb:Query", table("Audit")),
    } <= made  # fmt: skip
    allowed = {"kms:GetPublicKey", "cloudformation:DescribeStacks", "dynamodb:GetItem",
               "dynamodb:Scan", "dynamodb:Query"}  # fmt: skip
    assert {action for action, _ in made} <= allowed

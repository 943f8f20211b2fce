"""The operators' role, read from the synthesized production template: it allows each AWS call
`drexfy-ops` makes, on the resource it makes it on, and nothing else; it never decrypts or
signs; and the stack publishes every output `drexfy-ops --stack` reads.

tests/ops/test_stack_mode.py runs each command as this role on the embedded AWS (which enforces
IAM) and checks the calls it records against the same list.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ops.stack import COMMAND_OUTPUTS, LAMBDA_ENVIRONMENT_OUTPUTS
from tests.cdk.conftest import resources_of

STACK = "Drexfy-prod"


def arn(service: str, resource: str) -> str:
    return f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"


PURCHASE_EXECUTIONS = arn("states", "execution:${PurchaseWorkflowStateMachine.Name}:*")
REPLAYS = arn("events", "replay/*")

# Each command's AWS calls (ops/cli.py, ops/redrive.py, and the Lambdas' code they use):
# (IAM action, resource), resources as logical ids without their hash.
MACHINES = ("PurchaseWorkflowStateMachine", "OnboardingWorkflowStateMachine",
            "ComplianceWorkflowStateMachine", "DistributionWorkflowStateMachine",
            "CollectionWorkflowStateMachine", "WriteDownWorkflowStateMachine",
            "WithdrawalWorkflowStateMachine", "SettlementWorkflowStateMachine",
            "ReconciliationWorkflowStateMachine", "StatementsWorkflowStateMachine")  # fmt: skip
COMMAND_CALLS: dict[str, list[tuple[str, str]]] = {
    # Operators inspect stuck executions of every workflow in the Step Functions console.
    "the Step Functions console": [
        call
        for machine in MACHINES
        for call in (
            ("states:ListExecutions", f"${{{machine}}}"),
            ("states:DescribeStateMachine", f"${{{machine}}}"),
            ("states:DescribeExecution", arn("states", f"execution:${{{machine}.Name}}:*")),
            ("states:GetExecutionHistory", arn("states", f"execution:${{{machine}.Name}}:*")),
        )
    ],
    "--stack (every command)": [
        ("cloudformation:DescribeStacks", arn("cloudformation", f"stack/{STACK}/*")),
    ],
    "purchases": [("dynamodb:Scan", "TablesPurchases.Arn")],
    "purchase": [
        ("dynamodb:GetItem", "TablesPurchases.Arn"),
        ("states:GetExecutionHistory", PURCHASE_EXECUTIONS),
    ],
    "redrive [--wait]": [
        ("dynamodb:GetItem", "TablesPurchases.Arn"),
        ("states:DescribeExecution", PURCHASE_EXECUTIONS),
        ("states:RedriveExecution", PURCHASE_EXECUTIONS),
    ],
    "replay": [
        ("events:DescribeEventBus", "EventsBus.Arn"),
        ("events:StartReplay", "EventsBusArchive.Arn"),
        ("events:StartReplay", REPLAYS),  # in case AWS also checks the replay it creates
        ("events:DescribeReplay", REPLAYS),
    ],
    "investor block|unblock": [("events:PutEvents", "EventsBus.Arn")],
    "instrument write-down": [("events:PutEvents", "EventsBus.Arn")],
    "instrument": [("dynamodb:GetItem", "TablesInstruments.Arn")],
    "distributions": [("dynamodb:Scan", "TablesDistributions.Arn")],
    "distribution": [
        ("dynamodb:GetItem", "TablesDistributions.Arn"),
        ("dynamodb:Query", "TablesEntitlements.Arn"),
    ],
    "distribution approve": [
        ("dynamodb:GetItem", "TablesDistributions.Arn"),
        ("states:SendTaskSuccess", "*"),  # a task token names no resource
    ],
    "distribution run": [("states:StartExecution", "${DistributionWorkflowStateMachine}")],
    "accounts": [
        ("kms:GetPublicKey", "KeysIssuerAccount.Arn"),
        ("kms:GetPublicKey", "KeysCompanyAccount.Arn"),
        ("kms:GetPublicKey", "KeysFundingAccount.Arn"),
        ("dynamodb:Query", "${TablesTickets.Arn}/index/available"),
        ("dynamodb:Scan", "TablesInstruments.Arn"),
    ],
    "withdrawals": [("dynamodb:Scan", "TablesWithdrawals.Arn")],
    "withdrawal": [("dynamodb:GetItem", "TablesWithdrawals.Arn")],
    "payouts": [
        ("dynamodb:Scan", "TablesWithdrawals.Arn"),
        ("dynamodb:Scan", "TablesPurchases.Arn"),
    ],
    "reconcile": [
        ("states:StartExecution", "${ReconciliationWorkflowStateMachine}"),
        ("states:DescribeExecution",
         arn("states", "execution:${ReconciliationWorkflowStateMachine.Name}:*")),
        ("dynamodb:GetItem", "TablesReconciliations.Arn"),
    ],
    "reconciliations": [("dynamodb:Scan", "TablesReconciliations.Arn")],
    "statements": [
        ("states:StartExecution", "${StatementsWorkflowStateMachine}"),
        ("states:DescribeExecution",
         arn("states", "execution:${StatementsWorkflowStateMachine.Name}:*")),
    ],
    "statement": [
        ("kms:GetPublicKey", "KeysIssuerAccount.Arn"),
        ("kms:GetPublicKey", "KeysCompanyAccount.Arn"),
        ("kms:GetPublicKey", "KeysFundingAccount.Arn"),
        ("dynamodb:GetItem", "TablesWallets.Arn"),
        ("dynamodb:GetItem", "TablesInstruments.Arn"),
        ("dynamodb:GetItem", "TablesEntitlements.Arn"),
        ("dynamodb:Query", "${TablesPurchases.Arn}/index/by-investor"),
        ("dynamodb:Query", "${TablesWithdrawals.Arn}/index/by-investor"),
        ("dynamodb:Scan", "TablesDistributions.Arn"),
        ("dynamodb:GetItem", "TablesSubmissions.Arn"),
        ("dynamodb:Query", "${TablesSubmissions.Arn}/index/by-subject"),
    ],
    "register": [
        ("kms:GetPublicKey", "KeysIssuerAccount.Arn"),
        ("kms:GetPublicKey", "KeysCompanyAccount.Arn"),
        ("kms:GetPublicKey", "KeysFundingAccount.Arn"),
        ("dynamodb:GetItem", "TablesInstruments.Arn"),
        ("dynamodb:Scan", "TablesPurchases.Arn"),
        ("dynamodb:Scan", "TablesDistributions.Arn"),
        ("dynamodb:Query", "TablesEntitlements.Arn"),
        ("dynamodb:Query", "${TablesSubmissions.Arn}/index/by-subject"),
        ("dynamodb:Query", "TablesAudit.Arn"),
    ],
    "reconciliation": [("dynamodb:GetItem", "TablesReconciliations.Arn")],
    "provider dead-letters": [("sqs:ReceiveMessage", "PaymentProviderUnsent.Arn")],
    "provider resend": [
        ("sqs:ReceiveMessage", "PaymentProviderUnsent.Arn"),
        ("sqs:DeleteMessage", "PaymentProviderUnsent.Arn"),
        ("events:PutEvents", "EventsBus.Arn"),
    ],
}  # fmt: skip
# What `drexfy-ops investor` puts, and nothing else the role may put.
PUT_EVENTS_CONDITION = {
    "StringEquals": {
        "events:source": "drexfy.operators",
        "events:detail-type": [
            "AmlFlagged",
            "AmlCleared",
            "WriteDownRecorded",
            "PayoutResent",
            "RefundResent",
        ],
    }
}
# The functions' configuration, published by cdk/operators.py.
CONFIGURATION_OUTPUTS = {"XrplUrls", "ExplorerUrl", "ActivationXrp", "LedgerCloseSeconds"}

_HASH = re.compile(r"[0-9A-F]{8}$")


def readable(value: Any) -> str:
    """A resource as text: `Logical.Arn` for a GetAtt, `${Logical}` for a Ref, a Join with
    `${...}` for its parts; logical ids without their hash."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return "${" + _HASH.sub("", value["Ref"]) + "}"
    if "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"{_HASH.sub('', logical_id)}.{attribute}"
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(
            "${" + readable(p) + "}" if "Fn::GetAtt" in p else readable(p) for p in parts
        )
    raise AssertionError(f"unexpected resource {value}")


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def role(prod_template: dict[str, Any]) -> dict[str, Any]:
    (logical_id,) = [
        k
        for k, r in prod_template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and k.startswith("OperatorsRole")
    ]
    return {"id": logical_id, **prod_template["Resources"][logical_id]["Properties"]}


@pytest.fixture(scope="module")
def statements(prod_template: dict[str, Any], role: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for policy in resources_of(prod_template, "AWS::IAM::Policy"):
        if {"Ref": role["id"]} in policy["Properties"].get("Roles", []):
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_the_role_allows_each_call_drexfy_ops_makes_and_no_more(
    statements: list[dict[str, Any]],
) -> None:
    allowed = {
        (action, readable(resource))
        for s in statements
        if s["Effect"] == "Allow"
        for action in listed(s["Action"])
        for resource in listed(s["Resource"])
    }
    expected = {call for calls in COMMAND_CALLS.values() for call in calls}
    assert sorted(allowed - expected) == [], "granted, but no command makes the call"
    assert sorted(expected - allowed) == [], "a command makes the call, but it is not granted"


def test_only_the_operators_decisions_may_be_put_on_the_bus(
    statements: list[dict[str, Any]],
) -> None:
    putting = [s for s in statements if "events:PutEvents" in listed(s["Action"])]
    assert len(putting) == 1 and listed(putting[0]["Action"]) == ["events:PutEvents"]
    assert putting[0]["Condition"] == PUT_EVENTS_CONDITION
    others = [s for s in statements if s.get("Condition") and s is not putting[0]]
    assert others == []


def test_the_role_never_decrypts_or_signs(statements: list[dict[str, Any]]) -> None:
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert set(listed(deny["Action"])) == {"kms:Decrypt", "kms:ReEncrypt*", "kms:Sign"}
    assert {readable(r) for r in listed(deny["Resource"])} == {
        "KeysInvestorSeeds.Arn", "KeysIssuerAccount.Arn", "KeysCompanyAccount.Arn",
        "KeysFundingAccount.Arn",
    }  # fmt: skip


def test_the_role_has_no_other_policy(prod_template: dict[str, Any], role: dict[str, Any]) -> None:
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    attached = [
        p
        for p in resources_of(prod_template, "AWS::IAM::Policy")
        + resources_of(prod_template, "AWS::IAM::ManagedPolicy")
        if {"Ref": role["id"]} in p["Properties"].get("Roles", [])
    ]
    assert len(attached) == 1
    assert json.dumps(role["AssumeRolePolicyDocument"]).count("sts:AssumeRole") == 1


def test_assuming_the_role_needs_mfa(role: dict[str, Any]) -> None:
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Effect"] == "Allow" and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert "Fn::Join" in trust["Principal"]["AWS"], "the account: its IAM says who, with MFA"
    assert trust["Principal"]["AWS"]["Fn::Join"][1][-1] == ":root"


def test_the_stack_publishes_the_outputs_drexfy_ops_reads_under_stable_names(
    prod_template: dict[str, Any],
) -> None:
    outputs = prod_template["Outputs"]
    read = {o for needed in COMMAND_OUTPUTS.values() for o in needed} | {"OperatorsRoleArn"}
    assert sorted(read - CONFIGURATION_OUTPUTS - set(outputs)) == []
    published = set(LAMBDA_ENVIRONMENT_OUTPUTS.values()) - CONFIGURATION_OUTPUTS
    assert sorted(published - set(outputs)) == [], "every table name and key id, for tools"
    assert readable(outputs["TicketsTableName"]["Value"]) == "${TablesTickets}"
    assert readable(outputs["IssuerKeyId"]["Value"]) == "${KeysIssuerAccount}"
    assert readable(outputs["InvestorSeedKeyId"]["Value"]) == "${KeysInvestorSeeds}"


def test_the_stack_publishes_the_functions_configuration(prod_template: dict[str, Any]) -> None:
    outputs = prod_template["Outputs"]
    assert sorted(CONFIGURATION_OUTPUTS - set(outputs)) == []
    assert outputs["XrplUrls"]["Value"] == "https://xrplcluster.com,https://s2.ripple.com:51234"

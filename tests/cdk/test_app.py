"""The CDK app synthesizes offline, and the workflows it deploys are the files in statemachines/."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cdk.workflows import STATEMACHINES_DIR, WORKFLOWS
from local.aws.deployer import PROJECT_ROOT
from tests.cdk.conftest import resources_of

ASL_FILES = sorted(STATEMACHINES_DIR.glob("*.asl.json"))


def test_each_workflow_is_inlined_from_its_asl_file(prod_template: dict[str, Any]) -> None:
    machines = resources_of(prod_template, "AWS::StepFunctions::StateMachine")
    inlined = {json.loads(m["Properties"]["DefinitionString"])["Comment"] for m in machines}
    on_disk = {json.loads(path.read_text())["Comment"] for path in ASL_FILES}
    assert inlined == on_disk
    for machine in machines:
        definition = machine["Properties"]["DefinitionString"]
        substituted = set(machine["Properties"]["DefinitionSubstitutions"])
        placeholders = {p.split("}")[0] for p in definition.split("${")[1:]}
        assert placeholders == substituted, "every Task resource is substituted"


def test_production_keeps_its_data(prod_template: dict[str, Any]) -> None:
    for table in resources_of(prod_template, "AWS::DynamoDB::GlobalTable"):
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["Replicas"][0]["DeletionProtectionEnabled"] is True
        pitr = table["Properties"]["Replicas"][0]["PointInTimeRecoverySpecification"]
        assert pitr["PointInTimeRecoveryEnabled"] is True


def test_each_event_reaches_its_workflow_through_an_archived_bus(
    prod_template: dict[str, Any],
) -> None:
    rules = [
        r
        for r in resources_of(prod_template, "AWS::Events::Rule")
        if "EventPattern" in r["Properties"]
    ]
    starts = {
        (tuple(pattern["source"]), tuple(pattern["detail-type"]))
        for rule in rules
        if "StateMachine" in json.dumps(rule["Properties"]["Targets"])
        for pattern in [rule["Properties"]["EventPattern"]]
    }
    # Each rule takes one source with exactly its detail types: the frontend may ask for a
    # wallet but never approve a KYC case; only the gateway's webhook starts a purchase.
    assert starts == {
        (("drexfy.payments",), ("PaymentReceived",)),
        (("drexfy.kyc",), ("KycApproved", "KycRejected")),
        (("drexfy.frontend",), ("WalletRequested",)),
        (("drexfy.kyc",), ("AmlFlagged", "AmlCleared")),
        (("drexfy.operators",), ("AmlFlagged", "AmlCleared")),
        (("drexfy.collections",), ("CollectionReceived",)),
        (("drexfy.operators",), ("WriteDownRecorded",)),
        (("drexfy.frontend",), ("WithdrawalRequested",)),
        (("drexfy.investors",), ("CouponPaid", "PrincipalRepaid")),
        (
            ("drexfy.payments",),
            ("PayoutPaid", "PayoutFailed", "PayoutReturned", "RefundSucceeded", "RefundFailed"),
        ),
    }
    # Income starts the Withdrawal workflow only where the investor chose their bank for it.
    filtered = {
        tuple(rule["Properties"]["EventPattern"]["detail-type"]): rule["Properties"][
            "EventPattern"]["detail"]
        for rule in rules
        if "StateMachine" in json.dumps(rule["Properties"]["Targets"])
        and "detail" in rule["Properties"]["EventPattern"]
    }  # fmt: skip
    assert filtered == {("CouponPaid", "PrincipalRepaid"): {"income_payout": ["BANK"]}}
    notify = next(
        r for r in rules if "WalletReady" in r["Properties"]["EventPattern"].get("detail-type", [])
    )
    assert notify["Properties"]["EventPattern"]["replay-name"] == [{"exists": False}], (
        "a replay reprocesses; it never notifies the frontend again"
    )
    (archive,) = resources_of(prod_template, "AWS::Events::Archive")
    assert archive["Properties"]["RetentionDays"] == 400, "a year of replays, not forever"


def scheduled_rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each scheduled rule's one target, by its schedule."""
    found = {}
    for rule in resources_of(template, "AWS::Events::Rule"):
        if "ScheduleExpression" not in rule["Properties"]:
            continue
        (target,) = rule["Properties"]["Targets"]
        found[rule["Properties"]["ScheduleExpression"]] = target
    return found


def test_a_daily_schedule_starts_the_distributions_due(prod_template: dict[str, Any]) -> None:
    target = scheduled_rules(prod_template)["cron(0 6 * * ? *)"]
    assert "StartDueDistributions" in json.dumps(target["Arn"])
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 4


def test_the_books_are_reconciled_each_night_for_midnight(prod_template: dict[str, Any]) -> None:
    schedules = scheduled_rules(prod_template)
    assert set(schedules) == {"cron(0 6 * * ? *)", "cron(30 0 * * ? *)", "cron(0 1 1 * ? *)"}
    target = schedules["cron(30 0 * * ? *)"]
    assert "ReconciliationWorkflowStateMachine" in json.dumps(target["Arn"])
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"time": "$.time"}
    assert json.loads(transformer["InputTemplate"].replace("<time>", '"T"')) == {
        "scheduled_at": "T"
    }
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 4


def test_statements_are_made_on_the_first_after_the_nights_books(
    prod_template: dict[str, Any],
) -> None:
    target = scheduled_rules(prod_template)["cron(0 1 1 * ? *)"]
    assert "StatementsWorkflowStateMachine" in json.dumps(target["Arn"])
    template = target["InputTransformer"]["InputTemplate"].replace("<time>", '"T"')
    assert json.loads(template) == {"scheduled_at": "T"}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 4


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_asl_files_pass_the_asl_validator(path: Path) -> None:
    validator = PROJECT_ROOT / "node_modules" / ".bin" / "asl-validator"
    result = subprocess.run(
        [str(validator), "--json-path", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_workflow_names_exactly_the_functions_it_has() -> None:
    for spec in WORKFLOWS:
        assert spec.placeholders() == {task.placeholder for task in spec.tasks}

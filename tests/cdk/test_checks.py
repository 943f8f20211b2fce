"""Every environment's template passes cdk-nag (AwsSolutions) and cfn-lint.

cdk-nag runs inside every synth (cdk/nag.py): a finding nobody acknowledged fails `python app.py`
and so `cdk deploy`. Each acknowledgment names its finding and gives a one-line reason, and the
wildcard resources acknowledged carry only the actions those reasons name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from cdk.nag import STATE_MACHINE_XRAY_AND_LOG_DELIVERY, TASK_TOKENS_NAME_NO_RESOURCE
from local.aws.deployer import PROJECT_ROOT
from tests.cdk.conftest import ENVIRONMENTS, Synthesis

NAG = "AwsSolutions"
WILDCARD = "AwsSolutions-IAM5[Resource::*]"
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
XRAY_SAMPLING = {"xray:GetSamplingRules", "xray:GetSamplingTargets"}
LOG_DELIVERY = {
    f"logs:{action}"
    for action in (
        "CreateLogDelivery", "GetLogDelivery", "UpdateLogDelivery", "DeleteLogDelivery",
        "ListLogDeliveries", "PutResourcePolicy", "DescribeResourcePolicies", "DescribeLogGroups",
    )
}  # fmt: skip
# What each acknowledged `Resource: *` may allow: the actions its reason names, no more.
WILDCARD_ACTIONS = {
    STATE_MACHINE_XRAY_AND_LOG_DELIVERY.reason: XRAY | XRAY_SAMPLING | LOG_DELIVERY,
    TASK_TOKENS_NAME_NO_RESOURCE.reason: {"states:SendTaskSuccess"},
}


def nag_findings(report: dict[str, Any]) -> set[tuple[str, str]]:
    """(construct path, finding id) of every cdk-nag finding, whatever its severity."""
    return {
        (resource["constructPath"], violation["ruleName"])
        for plugin in report["pluginReports"]
        if plugin["pluginName"] == NAG
        for violation in plugin["violations"]
        for resource in violation.get("violatingConstructs", violation.get("violatingResources"))
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cdk_nag_finds_nothing_unacknowledged(
    synthesized: Callable[[str], Synthesis], env: str
) -> None:
    synthesis = synthesized(env)
    assert sorted(nag_findings(synthesis.validation_report())) == []
    assert synthesis.returncode == 0, synthesis.output
    print(f"synth {env}: {synthesis.seconds:.1f} s")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_acknowledgment_names_its_finding_and_gives_a_reason(
    synthesized: Callable[[str], Synthesis], env: str
) -> None:
    acknowledgments = synthesized(env).acknowledgments()
    assert len(acknowledgments) > 30, "each function, route, secret... acknowledges its own"
    for path, rules in acknowledgments.items():
        assert path.endswith("/Resource"), f"{path}: acknowledge on the resource, nothing wider"
        for rule, reason in rules.items():
            assert rule.startswith(f"{NAG}-"), f"{path}: {rule} is not a cdk-nag finding id"
            assert reason.strip() and "\n" not in reason, f"{path}: {rule} needs a one-line reason"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_acknowledged_wildcards_allow_only_what_their_reason_names(
    synthesized: Callable[[str], Synthesis], env: str
) -> None:
    synthesis = synthesized(env)
    resources = synthesis.template()["Resources"]
    logical_ids = {
        path: entry["data"]
        for path, entries in synthesis.construct_metadata().items()
        for entry in entries
        if entry["type"] == "aws:cdk:logicalId"
    }
    checked = 0
    for path, rules in synthesis.acknowledgments().items():
        if WILDCARD not in rules:
            continue
        allowed = WILDCARD_ACTIONS[rules[WILDCARD]]
        policy = resources[logical_ids[path]]["Properties"]["PolicyDocument"]
        for statement in policy["Statement"]:
            targets = statement["Resource"]
            if "*" in (targets if isinstance(targets, list) else [targets]):
                actions = statement["Action"]
                actions = set(actions if isinstance(actions, list) else [actions])
                assert actions <= allowed, f"{path}: {sorted(actions - allowed)} on *"
                checked += 1
    assert checked > 0


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cfn_lint_finds_no_errors(synthesized: Callable[[str], Synthesis], env: str) -> None:
    synthesis = synthesized(env)
    template = synthesis.outdir / f"{synthesis.stack_name}.template.json"
    synthesis.template()  # the synth succeeded
    # CDK emits DependsOn that its references already imply (W3005); warnings do not fail.
    matches = lint_file(Path(template), config=ManualArgs(ignore_checks=["W3005"]))
    for match in matches:
        print(f"cfn-lint {env}: {match}")
    assert [str(m) for m in matches if m.rule.id.startswith("E")] == []


WITHOUT_ACKNOWLEDGMENTS = """
import sys
from aws_cdk import aws_sqs as sqs
from cdk.nag import Suppression
from app import build_app

Suppression.on = lambda self, *scopes: None  # every acknowledgment left out
app = build_app("dev", outdir=sys.argv[1])
sqs.Queue(app.node.find_child("Drexfy-dev"), "Unacknowledged")
app.synth()
"""


def test_each_acknowledgment_answers_a_finding_and_a_new_resource_gets_none(
    synthesized: Callable[[str], Synthesis], tmp_path: Path
) -> None:
    """The dev app synthesized without its acknowledgments, plus a queue nobody reviewed: the
    findings are exactly what is acknowledged (none is stale) and the queue's own (build_app
    checks every synth, and nothing is acknowledged for a resource wholesale)."""
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_ACKNOWLEDGMENTS, str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        # CDK's own CloudFormation validation off (faster); plugins such as cdk-nag still run.
        env=dict(
            os.environ, CDK_VALIDATION="false", JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20"
        ),
    )
    assert result.returncode != 0, "unacknowledged findings must fail the synth"
    found = nag_findings(json.loads((tmp_path / "validation-report.json").read_text()))
    acknowledged = {
        (path.removeprefix("/"), rule)
        for path, rules in synthesized("dev").acknowledgments().items()
        for rule in rules
    }
    assert sorted(acknowledged - found) == [], "acknowledged, but cdk-nag finds nothing there"
    assert sorted(found - acknowledged) == [
        ("Drexfy-dev/Unacknowledged/Resource", "AwsSolutions-SQS3"),
        ("Drexfy-dev/Unacknowledged/Resource", "AwsSolutions-SQS4"),
    ]

"""A CloudFormation stack record for the embedded AWS, so `describe_stacks` finds the platform.

The deployer creates the template's resources one by one through their own APIs; moto's
CloudFormation never sees the stack. `record_stack` makes it answer
`describe_stacks(StackName=name)` with the deployed stack's outputs, through CloudFormation's
own API (so it works in-process and against moto's server alike): it creates, or updates, a
stack whose template has only those outputs as literal values and one resource that is never
created (its condition is false), since a template must name at least one resource.

Nothing else about the stack is recorded: its resources are where the deployer put them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

_OUTPUT_NAME = re.compile(r"^[A-Za-z0-9]{1,255}$")  # CloudFormation's logical id rule
_NEVER = "NeverCreated"


def record_template(outputs: Mapping[str, str]) -> dict[str, Any]:
    """The stand-in template: the outputs as literals, no resource that is ever created."""
    for name, value in outputs.items():
        if not _OUTPUT_NAME.match(name):
            raise ValueError(f"output name {name!r} is not alphanumeric (CloudFormation's rule)")
        if not isinstance(value, str) or not value:
            raise ValueError(f"output {name} must be a non-empty string, not {value!r}")
    return {
        "Description": "Stack record of the embedded AWS: the outputs of the deployed stack",
        "Conditions": {_NEVER: {"Fn::Equals": ["recorded", "deployed"]}},
        "Resources": {
            "Record": {"Type": "AWS::CloudFormation::WaitConditionHandle", "Condition": _NEVER}
        },
        "Outputs": {name: {"Value": value} for name, value in sorted(outputs.items())},
    }


def record_stack(cloudformation: Any, name: str, outputs: Mapping[str, str]) -> str:
    """Make `cloudformation` (a boto3 CloudFormation client of the embedded AWS) answer
    `describe_stacks(StackName=name)` with exactly `outputs`; returns the stack's id.

    Idempotent: a second call for the same name updates the outputs (a redeploy)."""
    body = json.dumps(record_template(outputs))
    if _exists(cloudformation, name):
        cloudformation.update_stack(StackName=name, TemplateBody=body)
        return str(cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackId"])
    return str(cloudformation.create_stack(StackName=name, TemplateBody=body)["StackId"])


def _exists(cloudformation: Any, name: str) -> bool:
    try:
        cloudformation.describe_stacks(StackName=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationError":
            return False  # "Stack with id NAME does not exist"
        raise
    return True

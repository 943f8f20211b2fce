"""Small CloudFormation templates of the tests' own, deployed into the session's moto beside the
platform stack (never a second mock_aws: starting one would reset the platform's backends)."""

from __future__ import annotations

from typing import Any

import boto3

from local.aws.deployer import DeployedStack, Deployer

ASSUME_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def role() -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": ASSUME_LAMBDA}}


def function(handler: str, role_id: str = "Role") -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": handler,
            "Role": {"Fn::GetAtt": [role_id, "Arn"]},
            "Code": {"ZipFile": "unused"},
        },
    }


def deploy(stack_name: str, resources: dict[str, Any], **options: Any) -> DeployedStack:
    """Deploy into whatever moto this process uses (the `aws` fixture's)."""
    template = {"Resources": resources, "Outputs": options.pop("outputs", {})}
    return Deployer(boto3.Session(), None, **options).deploy(stack_name, template)

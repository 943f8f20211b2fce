"""AssumeRole on the embedded AWS is decided by the role's trust policy, as in AWS.

The trust policy consents as a key policy does: naming the account hands the decision to the
caller's own policies (the administrator's allow everything); naming only a service lets no
client in. `aws:MultiFactorAuthPresent` is true only when the request carries an MFA device's
serial and a six-digit code (there are no devices locally, so the code itself is not checked).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.aws.platform import LocalAws

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
DEVICE = f"arn:aws:iam::{ACCOUNT}:mfa/alice"
MFA_PRESENT = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def role(aws: LocalAws, principal: dict[str, str], condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    created = aws.client("iam").create_role(
        RoleName=f"trust-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    return str(created["Role"]["Arn"])


def assume(aws: LocalAws, role_arn: str, **mfa: str) -> dict[str, Any]:
    answer: dict[str, Any] = aws.client("sts").assume_role(
        RoleArn=role_arn, RoleSessionName="test", **mfa
    )
    return answer


def refused(aws: LocalAws, role_arn: str, **mfa: str) -> str:
    with pytest.raises(ClientError) as error:
        assume(aws, role_arn, **mfa)
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    return str(error.value.response["Error"]["Message"])


def test_a_role_trusting_the_account_is_assumed_by_its_administrator(aws: LocalAws) -> None:
    arn = role(aws, {"AWS": ROOT})
    assert assume(aws, arn)["AssumedRoleUser"]["Arn"].endswith("/test")


def test_a_role_demanding_mfa_is_refused_without_it(aws: LocalAws) -> None:
    arn = role(aws, {"AWS": ROOT}, MFA_PRESENT)
    message = refused(aws, arn)
    assert "sts:AssumeRole" in message and arn in message
    refused(aws, arn, SerialNumber=DEVICE)  # a device without a code
    refused(aws, arn, SerialNumber=DEVICE, TokenCode="12ab56")  # not a code
    refused(aws, arn, SerialNumber="alice-phone", TokenCode="123456")  # not a device
    assert assume(aws, arn, SerialNumber=DEVICE, TokenCode="123456")["Credentials"]


def test_a_role_only_a_service_may_assume_is_refused_to_every_client(aws: LocalAws) -> None:
    arn = role(aws, {"Service": "lambda.amazonaws.com"})
    refused(aws, arn)
    refused(aws, arn, SerialNumber=DEVICE, TokenCode="123456")


def test_an_unknown_role_is_refused(aws: LocalAws) -> None:
    refused(aws, f"arn:aws:iam::{ACCOUNT}:role/no-such-role")


def test_the_operators_role_is_assumed_only_with_mfa(aws: LocalAws) -> None:
    operators = aws.stack.output("OperatorsRoleArn")
    refused(aws, operators)
    session = assume(aws, operators, SerialNumber=DEVICE, TokenCode="654321")
    assert ":assumed-role/" in session["AssumedRoleUser"]["Arn"]

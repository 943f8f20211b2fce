"""`record_stack`: moto's CloudFormation answers DescribeStacks with a stack's outputs.

moto may already hold the session's platform (a `mock_aws` inside another keeps its state), so
each test records a stack of its own name.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.aws.stack_record import record_stack

OUTPUTS = {
    "EventBusName": "Drexfy-local-platform",
    "PurchaseStateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:Purchase",
    "ApiUrl": "http://127.0.0.1:4567",
}


@pytest.fixture
def name() -> str:
    return f"Drexfy-record-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cloudformation(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("cloudformation", region_name="eu-west-1")


def outputs_of(cloudformation: Any, name: str) -> dict[str, str]:
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_describe_stacks_answers_with_the_recorded_outputs(cloudformation: Any, name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not supported by moto's CloudFormation" warning
        stack_id = record_stack(cloudformation, name, OUTPUTS)
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert stack["StackId"] == stack_id and f":stack/{name}/" in stack_id
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs_of(cloudformation, name) == OUTPUTS
    assert outputs_of(cloudformation, stack_id) == OUTPUTS, "by id as well as by name"


def test_the_record_creates_no_resource(cloudformation: Any, name: str) -> None:
    record_stack(cloudformation, name, OUTPUTS)
    summaries = cloudformation.list_stack_resources(StackName=name)
    assert not [s for s in summaries["StackResourceSummaries"] if s.get("LogicalResourceId")]


def test_recording_again_replaces_the_outputs_of_the_same_stack(
    cloudformation: Any, name: str
) -> None:
    first = record_stack(cloudformation, name, OUTPUTS)
    again = {**OUTPUTS, "ApiUrl": "http://127.0.0.1:5000", "XrplUrl": "http://127.0.0.1:5005"}
    del again["EventBusName"]
    assert record_stack(cloudformation, name, again) == first
    assert outputs_of(cloudformation, name) == again
    stacks = cloudformation.describe_stacks()["Stacks"]
    assert [s["StackId"] for s in stacks if s["StackName"] == name] == [first]


def test_other_stacks_are_unknown(cloudformation: Any, name: str) -> None:
    from botocore.exceptions import ClientError

    record_stack(cloudformation, name, OUTPUTS)
    with pytest.raises(ClientError, match="does not exist"):
        cloudformation.describe_stacks(StackName=f"{name}-other")


@pytest.mark.parametrize(
    ("outputs", "message"),
    [({"Event-Bus": "x"}, "not alphanumeric"), ({"EventBusName": ""}, "non-empty string")],
)
def test_outputs_cloudformation_would_refuse_are_refused(
    cloudformation: Any, name: str, outputs: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        record_stack(cloudformation, name, outputs)


def test_it_works_against_motos_server_mode_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = boto3.client(
            "cloudformation", region_name="eu-west-1", endpoint_url=f"http://{host}:{port}"
        )
        name = f"Drexfy-server-{uuid.uuid4().hex[:8]}"
        record_stack(client, name, OUTPUTS)
        assert outputs_of(client, name) == OUTPUTS
    finally:
        server.stop()

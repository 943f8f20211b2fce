"""EventBridge API destinations: delivery with the connection's auth, retries, the dead-letter
queue, and the `replay-name` exists:false pattern that keeps replays from re-notifying."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.aws.deployer import DeployedStack
from local.aws.platform import LocalAws
from local.frontend_receiver import FrontendReceiver, Received
from tests.local.templates import deploy

RETRIES = 2
TEMPLATE_ENDPOINT = "http://127.0.0.1:9/never-used"


def destination_template() -> dict[str, Any]:
    bus_arn = {"Fn::GetAtt": ["Bus", "Arn"]}
    return {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "destination-test"}},
        "Archive": {
            "Type": "AWS::Events::Archive",
            "Properties": {"SourceArn": bus_arn, "RetentionDays": 1},
        },
        "Token": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "GenerateSecretString": {"ExcludePunctuation": True, "PasswordLength": 48}
            },
        },
        "Connection": {
            "Type": "AWS::Events::Connection",
            "Properties": {
                "AuthorizationType": "API_KEY",
                "AuthParameters": {
                    "ApiKeyAuthParameters": {
                        "ApiKeyName": "Authorization",
                        "ApiKeyValue": {
                            "Fn::Join": [
                                "",
                                [
                                    "{{resolve:secretsmanager:",
                                    {"Ref": "Token"},
                                    ":SecretString:::}}",
                                ],
                            ]
                        },
                    }
                },
            },
        },
        "Destination": {
            "Type": "AWS::Events::ApiDestination",
            "Properties": {
                "ConnectionArn": {"Fn::GetAtt": ["Connection", "Arn"]},
                "HttpMethod": "POST",
                "InvocationEndpoint": TEMPLATE_ENDPOINT,
                "InvocationRateLimitPerSecond": 50,
            },
        },
        # API destination targets are reached with the target's role, as in AWS.
        "Invoker": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
            },
        },
        "InvokerPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "invoke-destination",
                "Roles": [{"Ref": "Invoker"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "events:InvokeApiDestination",
                            "Resource": {"Fn::GetAtt": ["Destination", "Arn"]},
                        }
                    ],
                },
            },
        },
        "Undelivered": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Observed": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Notify": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {
                    "source": [{"prefix": "test."}],
                    "detail-type": ["Notified"],
                    "replay-name": [{"exists": False}],
                },
                "Targets": [
                    {
                        "Id": "Frontend",
                        "Arn": {"Fn::GetAtt": ["Destination", "Arn"]},
                        "RoleArn": {"Fn::GetAtt": ["Invoker", "Arn"]},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Undelivered", "Arn"]}},
                        "RetryPolicy": {
                            "MaximumRetryAttempts": RETRIES,
                            "MaximumEventAgeInSeconds": 3600,
                        },
                        "HttpParameters": {"HeaderParameters": {"X-Source": "eventbridge"}},
                        "InputTransformer": {
                            "InputPathsMap": {
                                "id": "$.id",
                                "detail-type": "$.detail-type",
                                "detail": "$.detail",
                            },
                            "InputTemplate": '{"id":<id>,"type":<detail-type>,"detail":<detail>}',
                        },
                    }
                ],
            },
        },
        # The same events without the replay condition: proves a replay did re-send them.
        "Observe": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {"source": [{"prefix": "test."}]},
                "Targets": [{"Id": "Queue", "Arn": {"Fn::GetAtt": ["Observed", "Arn"]}}],
            },
        },
    }


@dataclass
class Setup:
    aws: LocalAws
    stack: DeployedStack
    receiver: FrontendReceiver

    @property
    def bus(self) -> str:
        return self.stack.resources["Bus"].ref

    def put(self, marker: str) -> str:
        entries = self.aws.client("events").put_events(
            Entries=[
                {
                    "Source": "test.notifications",
                    "DetailType": "Notified",
                    "EventBusName": self.bus,
                    "Detail": json.dumps({"marker": marker}),
                }
            ]
        )["Entries"]
        return str(entries[0]["EventId"])

    def attempts(self, marker: str) -> list[Received]:
        return [r for r in self.receiver.received() if r.body["detail"]["marker"] == marker]

    def drain(self, queue: str) -> list[dict[str, Any]]:
        sqs = self.aws.client("sqs")
        url = self.stack.resources[queue].ref
        messages: list[dict[str, Any]] = []
        while batch := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in batch:
                messages.append(message)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return messages


@pytest.fixture(scope="module")
def setup(aws: LocalAws) -> Iterator[Setup]:
    with FrontendReceiver() as receiver:
        stack = deploy(
            "DestinationTest", destination_template(), api_destination_endpoint=receiver.url
        )
        yield Setup(aws, stack, receiver)


@pytest.fixture(autouse=True)
def clean(setup: Setup) -> Iterator[None]:
    setup.receiver.clear()
    setup.drain("Undelivered")
    setup.drain("Observed")
    yield


def test_the_deployer_creates_connection_and_destination_with_the_endpoint_override(
    setup: Setup,
) -> None:
    events = setup.aws.client("events")
    connection = setup.stack.resources["Connection"]
    described = events.describe_connection(Name=connection.ref)
    assert described["ConnectionArn"] == connection.attributes["Arn"]
    assert described["SecretArn"] == connection.attributes["SecretArn"]
    assert described["AuthorizationType"] == "API_KEY"
    destination = events.describe_api_destination(Name=setup.stack.resources["Destination"].ref)
    assert destination["InvocationEndpoint"] == setup.receiver.url != TEMPLATE_ENDPOINT
    assert destination["ConnectionArn"] == connection.attributes["Arn"]
    (target,) = events.list_targets_by_rule(
        Rule=setup.stack.resources["Notify"].ref.split("|")[1], EventBusName=setup.bus
    )["Targets"]
    assert target["Arn"] == destination["ApiDestinationArn"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == RETRIES
    assert (
        target["DeadLetterConfig"]["Arn"] == setup.stack.resources["Undelivered"].attributes["Arn"]
    )


def test_an_event_is_posted_as_json_with_the_connections_api_key(setup: Setup) -> None:
    event_id = setup.put("delivered")
    (request,) = setup.attempts("delivered")
    token = setup.aws.client("secretsmanager").get_secret_value(
        SecretId=setup.stack.resources["Token"].ref
    )["SecretString"]
    assert len(token) == 48
    assert request.headers["authorization"] == token
    assert request.headers["content-type"].startswith("application/json")
    assert request.headers["user-agent"] == "Amazon/EventBridge/ApiDestinations"
    assert request.headers["x-source"] == "eventbridge"
    assert request.path == "/notifications"
    assert request.body == {"id": event_id, "type": "Notified", "detail": {"marker": "delivered"}}
    assert setup.drain("Undelivered") == []


def test_a_failing_endpoint_is_retried_then_the_event_goes_to_the_dead_letter_queue(
    setup: Setup,
) -> None:
    setup.receiver.fail_next(RETRIES + 1, status=503)
    event_id = setup.put("always-failing")
    assert len(setup.attempts("always-failing")) == RETRIES + 1
    (message,) = setup.drain("Undelivered")
    event = json.loads(message["Body"])
    assert event["id"] == event_id and event["detail"] == {"marker": "always-failing"}
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "RULE_ARN": setup.stack.resources["Notify"].attributes["Arn"],
        "TARGET_ARN": setup.stack.resources["Destination"].attributes["Arn"],
        "ERROR_CODE": "ERROR_FROM_TARGET",
        "ERROR_MESSAGE": "Received a 503 response from the target",
        "RETRY_ATTEMPTS": str(RETRIES),
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
    }


def test_a_transient_failure_is_delivered_by_a_retry(setup: Setup) -> None:
    setup.receiver.fail_next(1, status=429)
    setup.put("flaky")
    assert len(setup.attempts("flaky")) == 2
    assert setup.drain("Undelivered") == []


def test_a_client_error_is_not_retried(setup: Setup) -> None:
    setup.receiver.fail_next(1, status=400)
    setup.put("rejected")
    assert len(setup.attempts("rejected")) == 1
    (message,) = setup.drain("Undelivered")
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "ERROR_FROM_TARGET"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes


def test_an_unreachable_endpoint_is_a_connection_failure(setup: Setup) -> None:
    events = setup.aws.client("events")
    name = setup.stack.resources["Destination"].ref
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/notifications"
    events.update_api_destination(Name=name, InvocationEndpoint=closed)
    try:
        setup.put("unreachable")
    finally:
        events.update_api_destination(Name=name, InvocationEndpoint=setup.receiver.url)
    (message,) = setup.drain("Undelivered")
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "CONNECTION_FAILURE"
    assert attributes["RETRY_ATTEMPTS"] == str(RETRIES)
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"


def test_a_target_whose_role_may_not_invoke_the_destination_is_dead_lettered(
    setup: Setup,
) -> None:
    """EventBridge reaches an API destination with the target's role (IAM, enforced locally)."""
    iam = setup.aws.client("iam")
    role = setup.stack.resources["Invoker"].ref
    policy = setup.stack.resources["InvokerPolicy"].ref
    granted = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    iam.delete_role_policy(RoleName=role, PolicyName=policy)
    try:
        setup.put("not-permitted")
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(granted))
    assert setup.attempts("not-permitted") == []
    (message,) = setup.drain("Undelivered")
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert role in attributes["ERROR_MESSAGE"]
    setup.put("permitted-again")
    assert len(setup.attempts("permitted-again")) == 1


def test_an_archive_replay_is_not_delivered_again(setup: Setup) -> None:
    events = setup.aws.client("events")
    marker = f"replayed-{uuid.uuid4().hex[:6]}"
    start = datetime.now(UTC) - timedelta(seconds=2)
    setup.put(marker)
    assert len(setup.attempts(marker)) == 1
    time.sleep(0.01)
    replay = events.start_replay(
        ReplayName=f"replay-{uuid.uuid4().hex[:8]}",
        EventSourceArn=setup.stack.resources["Archive"].attributes["Arn"],
        EventStartTime=start,
        EventEndTime=datetime.now(UTC) + timedelta(seconds=2),
        Destination={"Arn": setup.stack.resources["Bus"].attributes["Arn"]},
    )
    assert events.describe_replay(ReplayName=replay["ReplayArn"].rsplit("/", 1)[1])["State"] in (
        "COMPLETED",
        "RUNNING",
        "STARTING",
    )
    observed = [json.loads(m["Body"]) for m in setup.drain("Observed")]
    mine = [e for e in observed if e["detail"].get("marker") == marker]
    assert len(mine) == 2, "the replay re-sent the event to the bus"
    assert sum("replay-name" in e for e in mine) == 1
    assert len(setup.attempts(marker)) == 1, "but the notification rule ignored the replay"


def test_the_platform_notifies_the_frontend_with_the_frontend_token(aws: LocalAws) -> None:
    assert aws.notifications is not None
    assert aws.notifications_url == aws.notifications.url
    purchase_id = f"purchase-{uuid.uuid4().hex[:8]}"
    aws.client("events").put_events(
        Entries=[
            {
                "Source": "drexfy.purchases",
                "DetailType": "PurchaseCompleted",
                "EventBusName": aws.stack.output("EventBusName"),
                "Detail": json.dumps({"purchase_id": purchase_id}),
            }
        ]
    )
    (request,) = aws.notifications.wait_for(
        lambda r: isinstance(r.body, dict) and r.body["detail"].get("purchase_id") == purchase_id
    )
    token = aws.client("secretsmanager").get_secret_value(
        SecretId=aws.stack.output("FrontendApiSecretArn")
    )["SecretString"]
    assert request.headers["authorization"] == f"Bearer {token}"
    assert request.body["type"] == "PurchaseCompleted"
    assert set(request.body) == {"id", "type", "time", "detail"}

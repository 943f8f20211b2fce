"""Throttling as AWS applies it, locally: the HTTP API stage's rate and burst per route (429
before any function runs) and a function's reserved concurrency (Lambda refuses the invocation
beyond it; a Step Functions task sees `Lambda.TooManyRequestsException`)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.api.gateway import ApiGateway, TokenBuckets
from local.api.routes import Throttle
from local.aws import lambda_runtime
from local.aws.deployer import REGION, DeployedStack
from local.aws.platform import LocalAws
from tests.local.templates import deploy, function, role

HANDLERS = "tests.local.throttling_handlers"
API = {"Ref": "Api"}
TOO_MANY = {"message": "Too Many Requests"}
NO_REFILL = 0.001  # a token every 1,000 s: within a test, the burst is all there is


# --- the stage's throttling at the local gateway -------------------------------------------------


def integration(function_id: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGatewayV2::Integration",
        "Properties": {
            "ApiId": API,
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": {"Fn::GetAtt": [function_id, "Arn"]},
            "PayloadFormatVersion": "2.0",
        },
    }


ROUTES = {
    "GET /a": "Integration",
    "GET /b": "Integration",
    "GET /closed": "Integration",
    "GET /capped": "CappedIntegration",  # its function's reserved concurrency is 0
}


def throttled_api(default: dict[str, Any], per_route: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Role": role(),
        "Hello": function(f"{HANDLERS}.hello"),
        "Capped": reserved("hello", 0),
        "Api": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {"Name": "throttled", "ProtocolType": "HTTP"},
        },
        "Integration": integration("Hello"),
        "CappedIntegration": integration("Capped"),
        "Stage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {
                "ApiId": API,
                "StageName": "$default",
                "AutoDeploy": True,
                "DefaultRouteSettings": default,
                "RouteSettings": per_route,
            },
        },
    }
    for index, (key, target) in enumerate(ROUTES.items()):
        resources[f"Route{index}"] = {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": API,
                "AuthorizationType": "NONE",
                "RouteKey": key,
                "Target": {"Fn::Join": ["", ["integrations/", {"Ref": target}]]},
            },
        }
    return resources


@pytest.fixture(scope="module")
def gateway(aws: LocalAws) -> Iterator[tuple[ApiGateway, DeployedStack]]:
    server = ApiGateway()
    stack = deploy(
        "ThrottleTest",
        throttled_api(
            {"ThrottlingBurstLimit": 3, "ThrottlingRateLimit": NO_REFILL},
            {
                "GET /closed": {"ThrottlingBurstLimit": 0, "ThrottlingRateLimit": 0},
                "GET /capped": {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 100},
            },
        ),
        api_endpoint=server.url,
    )
    with server.serve(stack.http_api):
        yield server, stack


def get(server: ApiGateway, path: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def test_a_route_past_its_burst_is_answered_429_as_api_gateway_does(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    server, stack = gateway
    assert stack.http_api is not None
    assert stack.http_api.throttle("$default", "GET /a") == Throttle(NO_REFILL, 3)

    with ThreadPoolExecutor(6) as pool:  # a burst of 6 at once
        answers = list(pool.map(lambda _: get(server, "/a"), range(6)))

    assert sorted(status for status, _ in answers) == [200, 200, 200, 429, 429, 429]
    assert all(body == TOO_MANY for status, body in answers if status == 429)
    assert get(server, "/a") == (429, TOO_MANY)  # still empty: the rate refills next to nothing
    assert get(server, "/b")[0] == 200, "each route has a bucket of its own"


def test_route_settings_override_the_stages_default(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    server, _ = gateway
    assert get(server, "/closed") == (429, TOO_MANY)  # a burst of 0 lets nothing through


def test_a_function_throttled_behind_the_api_is_a_500_as_api_gateway_answers(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    """Lambda's 429 is not passed on: the stage's own 429 is the one a caller can act on."""
    server, _ = gateway
    assert get(server, "/capped") == (500, {"message": "Internal Server Error"})


def test_a_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    now = [0.0]
    buckets = TokenBuckets(clock=lambda: now[0])
    limits, key = Throttle(rate=2, burst=4), ("$default", "GET /a")

    assert [buckets.take(key, limits) for _ in range(5)] == [True] * 4 + [False]
    now[0] += 1.0  # two tokens back
    assert [buckets.take(key, limits) for _ in range(3)] == [True, True, False]
    now[0] += 60.0  # never more than the burst
    assert sum(buckets.take(key, limits) for _ in range(10)) == 4


def test_the_platform_stage_is_throttled_locally_as_its_template_says(aws: LocalAws) -> None:
    from cdk.api import ROUTES
    from cdk.environments import environment_named

    local = environment_named("local")
    api = aws.stack.http_api
    assert api is not None
    for route in ROUTES:
        assert api.throttle("$default", f"{route.method} {route.path}") == Throttle(
            local.api_rate_per_second, local.api_burst
        )


# --- reserved concurrency in the local Lambda runtime --------------------------------------------


def reserved(handler: str, concurrency: int) -> dict[str, Any]:
    resource = function(f"{HANDLERS}.{handler}")
    resource["Properties"]["ReservedConcurrentExecutions"] = concurrency
    resource["Properties"]["Timeout"] = 30
    return resource


@pytest.fixture(scope="module")
def capped(aws: LocalAws) -> DeployedStack:
    return deploy(
        "ReservedTest",
        {"Role": role(), "Slow": reserved("slow", 1), "Closed": reserved("hello", 0)},
    )


def lambda_client(aws: LocalAws) -> Any:
    """Without botocore's own retries, which would retry a 429 until the slot is free."""
    return boto3.client(
        "lambda",
        region_name=REGION,
        endpoint_url=aws.endpoint_url,
        config=Config(retries={"total_max_attempts": 1}),
    )


def invoke(aws: LocalAws, name: str, event: dict[str, Any]) -> Any:
    answer = lambda_client(aws).invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return json.loads(answer["Payload"].read())


def running(function_name: str) -> int:
    counts = lambda_runtime.ReservedConcurrency._running
    return sum(n for key, n in counts.items() if key.endswith(f":{function_name}"))


def test_an_invocation_beyond_the_reserved_concurrency_is_refused(
    aws: LocalAws, capped: DeployedStack
) -> None:
    slow = capped.resources["Slow"].ref
    concurrency = lambda_client(aws).get_function_concurrency(FunctionName=slow)
    assert concurrency["ReservedConcurrentExecutions"] == 1  # from the template
    first: list[Any] = []
    holder = threading.Thread(target=lambda: first.append(invoke(aws, slow, {"seconds": 3})))
    holder.start()
    try:
        deadline = time.monotonic() + 10
        while running(slow) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)

        with pytest.raises(ClientError) as refused:
            invoke(aws, slow, {})
    finally:
        holder.join()

    response = refused.value.response
    assert response["Error"]["Code"] == "TooManyRequestsException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert first == ["done"], "the invocation within the reservation ran"
    assert invoke(aws, slow, {}) == "done", "its slot is free again"


def test_a_reserved_concurrency_of_zero_refuses_every_invocation(
    aws: LocalAws, capped: DeployedStack
) -> None:
    with pytest.raises(ClientError, match="TooManyRequestsException"):
        invoke(aws, capped.resources["Closed"].ref, {})


@pytest.mark.handlers_in_test_process
def test_the_reservation_holds_for_handlers_run_in_the_test_process(
    aws: LocalAws, capped: DeployedStack
) -> None:
    with pytest.raises(ClientError, match="TooManyRequestsException"):
        invoke(aws, capped.resources["Closed"].ref, {})
    assert invoke(aws, capped.resources["Slow"].ref, {}) == "done"


def test_a_workflow_task_sees_lambda_too_many_requests(aws: LocalAws) -> None:
    """What the ASL's Retry entries for `Lambda.TooManyRequestsException` match."""
    stack = deploy(
        "ThrottledWorkflow",
        {
            "Role": role(),
            "Closed": reserved("hello", 0),
            "MachineRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": ASSUME_STATES},
            },
            "MachinePolicy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "invoke",
                    "Roles": [{"Ref": "MachineRole"}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "lambda:InvokeFunction",
                                "Resource": {"Fn::GetAtt": ["Closed", "Arn"]},
                            }
                        ],
                    },
                },
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "DependsOn": ["MachinePolicy"],
                "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["MachineRole", "Arn"]},
                    "DefinitionString": json.dumps(ONE_TASK),
                    "DefinitionSubstitutions": {"ClosedArn": {"Fn::GetAtt": ["Closed", "Arn"]}},
                },
            },
        },
    )
    sfn = aws.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=stack.resources["Machine"].ref, input="{}")

    def finished() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        return None if described["status"] == "RUNNING" else described

    deadline = time.monotonic() + 30
    described = finished()
    while described is None and time.monotonic() < deadline:
        time.sleep(0.1)
        described = finished()
    assert described is not None and described["status"] == "FAILED", described
    assert described["error"] == "Lambda.TooManyRequestsException"


ASSUME_STATES = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
ONE_TASK = {
    "QueryLanguage": "JSONata",
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "${ClosedArn}", "Payload": "{% $states.input %}"},
            "End": True,
        }
    },
}

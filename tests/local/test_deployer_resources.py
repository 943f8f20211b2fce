"""Secrets, dynamic references and the rule that every template type is created or skipped."""

from __future__ import annotations

import json
import string
from typing import Any

import boto3
import pytest

from local.aws.deployer import SKIPPED_TYPES, Deployer, synthesize
from local.aws.platform import LocalAws
from local.aws.template import TemplateError
from tests.local.templates import deploy

ALPHANUMERIC = set(string.ascii_letters + string.digits)


def test_the_platform_secrets_are_48_random_alphanumeric_characters(aws: LocalAws) -> None:
    secrets = aws.client("secretsmanager")
    values = []
    for output in ("PaymentsWebhookSecretArn", "KycWebhookSecretArn", "FrontendApiSecretArn"):
        arn = aws.stack.output(output)
        assert arn.startswith("arn:aws:secretsmanager:eu-west-1:123456789012:secret:")
        value = secrets.get_secret_value(SecretId=arn)["SecretString"]
        assert len(value) == 48 and set(value) <= ALPHANUMERIC
        values.append(value)
    assert len(set(values)) == 3
    # the functions find them by ARN, as in AWS
    assert aws.stack.function_environment["FRONTEND_API_SECRET"] == aws.stack.output(
        "FrontendApiSecretArn"
    )


def test_generate_secret_string_options_are_honoured(aws: LocalAws) -> None:
    resources: dict[str, Any] = {
        "Short": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "GenerateSecretString": {
                    "PasswordLength": 20,
                    "ExcludePunctuation": "true",
                    "ExcludeNumbers": True,
                }
            },
        },
        "Default": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {"GenerateSecretString": {}},
        },
        "Json": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": "secrets-test/json",
                "GenerateSecretString": {
                    "SecretStringTemplate": '{"username": "app"}',
                    "GenerateStringKey": "password",
                    "PasswordLength": 16,
                },
            },
        },
        "Literal": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {"SecretString": "fixed", "Description": "a literal value"},
        },
    }
    stack = deploy(
        "SecretsTest",
        resources,
        outputs={
            "Password": {
                "Value": {"Fn::Sub": "{{resolve:secretsmanager:${Json}:SecretString:password}}"}
            }
        },
    )
    secrets = aws.client("secretsmanager")

    def value(logical_id: str) -> str:
        arn = stack.resources[logical_id].ref
        assert stack.resources[logical_id].attributes["Id"] == arn
        return str(secrets.get_secret_value(SecretId=arn)["SecretString"])

    short = value("Short")
    assert len(short) == 20 and set(short) <= set(string.ascii_letters)
    assert len(value("Default")) == 32  # CloudFormation's default length
    document = json.loads(value("Json"))
    assert document["username"] == "app" and len(document["password"]) == 16
    assert value("Literal") == "fixed"
    assert secrets.describe_secret(SecretId=stack.resources["Json"].ref)["Name"] == (
        "secrets-test/json"
    )


def test_a_dynamic_reference_resolves_at_deploy_time(aws: LocalAws) -> None:
    secrets = aws.client("secretsmanager")
    arn = secrets.create_secret(
        Name="dynamic-reference-test", SecretString=json.dumps({"token": "t-1", "n": 2})
    )["ARN"]
    deployer = Deployer(boto3.Session(), None)
    resolve = deployer._dynamic_references
    assert resolve(f"{{{{resolve:secretsmanager:{arn}:SecretString:token}}}}") == "t-1"
    assert resolve(f"Bearer {{{{resolve:secretsmanager:{arn}}}}}!") == (
        "Bearer " + json.dumps({"token": "t-1", "n": 2}) + "!"
    )
    assert resolve({"a": ["{{resolve:secretsmanager:dynamic-reference-test::n}}"]}) == {"a": ["2"]}
    with pytest.raises(TemplateError, match="secretsmanager"):
        resolve("{{resolve:ssm:/some/parameter}}")


def test_every_resource_type_of_the_platform_is_created_or_skipped_with_a_reason() -> None:
    template = synthesize("local")
    creators = set(Deployer.__new__(Deployer)._creators())
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert types <= creators | set(SKIPPED_TYPES)
    assert all(reason.strip() for reason in SKIPPED_TYPES.values())
    for required in (
        "AWS::SecretsManager::Secret",
        "AWS::Events::Connection",
        "AWS::Events::ApiDestination",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Stage",
    ):
        assert required in creators
    assert "AWS::SQS::QueuePolicy" in SKIPPED_TYPES


def test_the_platform_api_exists_in_moto_too(aws: LocalAws) -> None:
    assert aws.stack.http_api is not None
    gateway = aws.client("apigatewayv2")
    api = gateway.get_api(ApiId=aws.stack.http_api.api_id)
    assert api["ProtocolType"] == "HTTP" and api["Name"] == "Drexfy-local-api"
    routes = gateway.get_routes(ApiId=api["ApiId"])["Items"]
    assert {r["RouteKey"] for r in routes} == {r.route_key for r in aws.stack.http_api.routes}
    assert [s["StageName"] for s in gateway.get_stages(ApiId=api["ApiId"])["Items"]] == ["$default"]

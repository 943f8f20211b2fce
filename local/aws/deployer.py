"""Deploys the CDK-synthesized templates into the embedded AWS, so local and production share one
definition of every table, key, function, state machine, bus, archive and rule.

Each resource type the app uses has a small creator below; a type with no local meaning is listed
in SKIPPED_TYPES with the reason; any other type stops the deploy, so nothing is silently dropped.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

import boto3

from local.api.routes import ApiRoute, HttpApi
from local.aws.stack_record import record_stack
from local.aws.template import (
    Intrinsics,
    ResolvedResource,
    TemplateError,
    as_json_text,
    creation_order,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SYNTH_INPUTS = ("app.py", "cdk.json", "cdk", "statemachines", "requirements-lambda.lock")
ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"

SKIPPED_TYPES = {
    "AWS::CDK::Metadata": "CDK bookkeeping",
    "AWS::Lambda::Permission": "moto does not enforce resource policies",
    "AWS::SQS::QueuePolicy": "moto does not enforce resource policies",
    "AWS::SNS::TopicPolicy": "moto does not enforce resource policies",
    "AWS::SNS::Subscription": "alarm e-mail: nobody to mail on one machine",
    # Its one statement denies requests without TLS; local endpoints are plain HTTP on 127.0.0.1.
    "AWS::S3::BucketPolicy": "denies non-TLS requests only, and every local request is HTTP",
}

# AWS managed policies moto does not load (loading them all costs seconds per deploy). Leaving
# one out only ever denies more than AWS would, and these grant nothing a local call needs.
UNLOADED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": (
        "CloudWatch Logs writes: local handlers log to the process, not through the Logs API"
    ),
}

# CloudFormation dynamic references: {{resolve:service:reference}}
_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:([a-z-]+):(.*?)\}\}")
_LAMBDA_ARN = re.compile(r"arn:[\w-]+:lambda:[\w-]+:\d+:function:([\w-]+)")


@dataclass
class DeployedStack:
    """What a deploy produced: the stack's outputs and every resource's physical reference."""

    name: str
    outputs: dict[str, str]
    resources: dict[str, ResolvedResource]
    function_environment: dict[str, str] = field(default_factory=dict)
    http_api: HttpApi | None = None  # the routes the local API gateway serves

    def output(self, name: str) -> str:
        try:
            return self.outputs[name]
        except KeyError:
            known = sorted(self.outputs)
            raise KeyError(f"stack {self.name} has no output {name}; has {known}") from None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "outputs": self.outputs}


def synthesize(env_name: str = "local", cache_dir: Path | None = None) -> dict[str, Any]:
    """Run `python app.py` once per change of the CDK inputs and return the stack template."""
    cache_dir = cache_dir or PROJECT_ROOT / ".local" / "synth"
    digest = _inputs_digest(env_name)
    outdir = cache_dir / digest
    template_path = outdir / f"Drexfy-{env_name}.template.json"
    if not template_path.exists():
        _synthesize_into(outdir, env_name)
    return json.loads(template_path.read_text())  # type: ignore[no-any-return]


def _synthesize_into(outdir: Path, env_name: str) -> None:
    """Synthesize beside the cache entry, then rename: parallel test workers never see half."""
    staging = outdir.with_name(f"{outdir.name}.{os.getpid()}.tmp")
    environment = dict(
        os.environ,
        CDK_OUTDIR=str(staging),
        CDK_CONTEXT_JSON=json.dumps({"env": env_name}),
        CDK_VALIDATION="false",  # same template, 5x faster; `make test` runs the checks
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    subprocess.run([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=environment, check=True)
    try:
        staging.rename(outdir)
    except OSError:  # another worker won the race; its template is the same
        shutil.rmtree(staging, ignore_errors=True)


def _inputs_digest(env_name: str) -> str:
    digest = sha256(env_name.encode())
    for name in SYNTH_INPUTS:
        path = PROJECT_ROOT / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(PROJECT_ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


class Deployer:
    """Creates a template's resources through the AWS APIs, in dependency order.

    `api_endpoint` is what an HTTP API's `ApiEndpoint` resolves to (the local gateway's URL;
    None keeps moto's execute-api URL). `api_destinations_under` moves API destinations whose
    `InvocationEndpoint` starts with a key to its value (the local payment provider on a free
    port); `api_destination_endpoint`, when given, replaces every other one's (the local
    frontend receiver on a free port)."""

    def __init__(
        self,
        session: boto3.Session,
        endpoint_url: str | None = None,
        environment_overrides: Mapping[str, str] | None = None,
        *,
        api_endpoint: str | None = None,
        api_destination_endpoint: str | None = None,
        api_destinations_under: Mapping[str, str] | None = None,
    ) -> None:
        self._session = session
        self._api_destinations_under = dict(api_destinations_under or {})
        self._endpoint_url = endpoint_url
        self._overrides = dict(environment_overrides or {})
        self._api_endpoint = api_endpoint
        self._api_destination_endpoint = api_destination_endpoint
        self._clients: dict[str, Any] = {}
        self._function_environment: dict[str, str] = {}
        self._overridden: dict[str, str] = {}  # a template value -> the override replacing it
        self._http_api: HttpApi | None = None
        self._integrations: dict[str, tuple[str, str]] = {}  # id -> (function, payload version)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service, region_name=REGION, endpoint_url=self._endpoint_url
            )
        return self._clients[service]

    def deploy(self, stack_name: str, template: Mapping[str, Any]) -> DeployedStack:
        resources: dict[str, Mapping[str, Any]] = template.get("Resources", {})
        intrinsics = Intrinsics(
            pseudo=_pseudo_parameters(stack_name),
            resources={},
            parameters=_parameter_defaults(template),
        )
        stack = DeployedStack(stack_name, {}, intrinsics.resources)
        self._check_function_environment(resources)
        for logical_id in creation_order(resources):
            resource = resources[logical_id]
            kind = resource["Type"]
            if kind in SKIPPED_TYPES:
                continue
            creator = self._creators().get(kind)
            if creator is None:
                raise TemplateError(
                    f"{logical_id}: resource type {kind} has no local creator; add one to "
                    "local/aws/deployer.py or list it in SKIPPED_TYPES with the reason"
                )
            properties = self._dynamic_references(
                intrinsics.resolve(resource.get("Properties", {}))
            )
            name = f"{stack_name}-{logical_id}"[:64]
            intrinsics.resources[logical_id] = creator(name, properties)
        stack.function_environment = dict(self._function_environment)
        stack.http_api = self._http_api
        stack.outputs = {  # an output stating an overridden setting states the override
            key: self._overridden.get(str(value), str(value))
            for key, value in (
                (key, intrinsics.resolve(spec["Value"]))
                for key, spec in template.get("Outputs", {}).items()
            )
        }
        if stack.outputs:  # DescribeStacks finds it, as CloudFormation would (drexfy-ops --stack)
            record_stack(self.client("cloudformation"), stack_name, stack.outputs)
        return stack

    def _check_function_environment(self, resources: Mapping[str, Mapping[str, Any]]) -> None:
        """In-process handlers share one environment, so functions must agree on every variable."""
        seen: dict[str, tuple[str, str]] = {}
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            for name, value in variables.items():
                text = json.dumps(value, sort_keys=True)
                if name in seen and seen[name][1] != text:
                    raise TemplateError(
                        f"functions {seen[name][0]} and {logical_id} set {name} differently; "
                        "the local platform runs all handlers in one process"
                    )
                seen[name] = (logical_id, text)

    def _creators(self) -> dict[str, Callable[[str, dict[str, Any]], ResolvedResource]]:
        return {
            "AWS::DynamoDB::Table": self._table,
            "AWS::DynamoDB::GlobalTable": self._table,
            "AWS::KMS::Key": self._kms_key,
            "AWS::KMS::Alias": self._kms_alias,
            "AWS::IAM::Role": self._role,
            "AWS::IAM::Policy": self._policy,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Lambda::Function": self._function,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::Archive": self._archive,
            "AWS::Events::Rule": self._rule,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SQS::Queue": self._queue,
            "AWS::Lambda::LayerVersion": self._layer_version,
            "AWS::SNS::Topic": self._topic,
            "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::CloudWatch::Dashboard": self._dashboard,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::Events::Connection": self._connection,
            "AWS::Events::ApiDestination": self._api_destination,
            "AWS::ApiGatewayV2::Api": self._http_api_resource,
            "AWS::ApiGatewayV2::Integration": self._integration,
            "AWS::ApiGatewayV2::Route": self._route,
            "AWS::ApiGatewayV2::Stage": self._stage,
        }

    def _dynamic_references(self, value: Any) -> Any:
        """Resolve `{{resolve:secretsmanager:...}}` as CloudFormation does, at deploy time."""
        if isinstance(value, list):
            return [self._dynamic_references(item) for item in value]
        if isinstance(value, dict):
            return {key: self._dynamic_references(item) for key, item in value.items()}
        if isinstance(value, str) and "{{resolve:" in value:
            return _DYNAMIC_REFERENCE.sub(self._resolve_reference, value)
        return value

    def _resolve_reference(self, match: re.Match[str]) -> str:
        service, reference = match.group(1), match.group(2)
        if service != "secretsmanager":
            raise TemplateError(f"dynamic reference {match.group(0)}: only secretsmanager locally")
        parts = reference.split(":")
        cut = 7 if reference.startswith("arn:") else 1  # an ARN has colons of its own
        secret_id, rest = ":".join(parts[:cut]), parts[cut:] + [""] * 4
        _, json_key, version_stage, version_id = rest[:4]
        arguments: dict[str, str] = {"SecretId": secret_id}
        if version_id:
            arguments["VersionId"] = version_id
        elif version_stage:
            arguments["VersionStage"] = version_stage
        text = self.client("secretsmanager").get_secret_value(**arguments)["SecretString"]
        return str(json.loads(text)[json_key]) if json_key else str(text)

    def _table(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        table_name = p.get("TableName", name)
        arguments: dict[str, Any] = {
            "TableName": table_name,
            "KeySchema": p["KeySchema"],
            "AttributeDefinitions": p["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if p.get("GlobalSecondaryIndexes"):
            arguments["GlobalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                for index in p["GlobalSecondaryIndexes"]
            ]
        arn = self.client("dynamodb").create_table(**arguments)["TableDescription"]["TableArn"]
        for replica in p.get("Replicas", []):
            if "ResourcePolicy" in replica:  # enforced locally (local/aws/access.py)
                self.client("dynamodb").put_resource_policy(
                    ResourceArn=arn,
                    Policy=as_json_text(replica["ResourcePolicy"]["PolicyDocument"]),
                )
        ttl = p.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            self.client("dynamodb").update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        return ResolvedResource(table_name, {"Arn": arn})

    def _kms_key(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        arguments: dict[str, Any] = {
            "Description": p.get("Description", name),
            "KeySpec": p.get("KeySpec", "SYMMETRIC_DEFAULT"),
            "KeyUsage": p.get("KeyUsage", "ENCRYPT_DECRYPT"),
        }
        if "KeyPolicy" in p:  # enforced locally (local/aws/access.py), so it must be the real one
            arguments["Policy"] = as_json_text(p["KeyPolicy"])
        metadata = self.client("kms").create_key(**arguments)["KeyMetadata"]
        return ResolvedResource(
            metadata["KeyId"], {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]}
        )

    def _kms_alias(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        self.client("kms").create_alias(AliasName=p["AliasName"], TargetKeyId=p["TargetKeyId"])
        return ResolvedResource(p["AliasName"])

    def _role(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        iam = self.client("iam")
        role = iam.create_role(
            RoleName=p.get("RoleName", name),
            AssumeRolePolicyDocument=as_json_text(p["AssumeRolePolicyDocument"]),
        )["Role"]
        for policy_arn in p.get("ManagedPolicyArns", []):
            if policy_arn in UNLOADED_MANAGED_POLICIES:
                continue
            iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=policy_arn)
        return ResolvedResource(role["RoleName"], {"Arn": role["Arn"], "RoleId": role["RoleId"]})

    def _policy(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        for role in p.get("Roles", []):
            self.client("iam").put_role_policy(
                RoleName=role,
                PolicyName=p["PolicyName"],
                PolicyDocument=as_json_text(p["PolicyDocument"]),
            )
        return ResolvedResource(p["PolicyName"])

    def _log_group(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        group = p.get("LogGroupName", f"/local/{name}")
        self.client("logs").create_log_group(logGroupName=group)
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{group}:*"
        return ResolvedResource(group, {"Arn": arn})

    def _function(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        declared = p.get("Environment", {}).get("Variables", {})
        variables = {  # an override changes a variable the function has, never adds one
            name: str(self._overrides.get(name, value)) for name, value in declared.items()
        }
        self._overridden.update(
            {str(declared[n]): self._overrides[n] for n in declared if n in self._overrides}
        )
        self._function_environment.update(variables)
        function = self.client("lambda").create_function(
            FunctionName=p.get("FunctionName", name),
            Runtime=p["Runtime"],
            Role=p["Role"],
            Handler=p["Handler"],
            Code={"ZipFile": _placeholder_zip()},  # handlers run from the working tree
            Timeout=int(p.get("Timeout", 3)),
            MemorySize=int(p.get("MemorySize", 128)),
            Environment={"Variables": variables},
        )
        if "ReservedConcurrentExecutions" in p:  # enforced by local/aws/lambda_runtime.py
            self.client("lambda").put_function_concurrency(
                FunctionName=function["FunctionName"],
                ReservedConcurrentExecutions=int(p["ReservedConcurrentExecutions"]),
            )
        return ResolvedResource(function["FunctionName"], {"Arn": function["FunctionArn"]})

    def _state_machine(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        definition = p["DefinitionString"]
        for key, value in p.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        machine = self.client("stepfunctions").create_state_machine(
            name=p.get("StateMachineName", name),
            definition=definition,
            roleArn=p["RoleArn"],
            type=p.get("StateMachineType", "STANDARD"),
        )
        arn = machine["stateMachineArn"]
        return ResolvedResource(arn, {"Arn": arn, "Name": arn.rsplit(":", 1)[-1]})

    def _event_bus(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        arn = self.client("events").create_event_bus(Name=p["Name"])["EventBusArn"]
        return ResolvedResource(p["Name"], {"Arn": arn, "Name": p["Name"]})

    def _archive(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        archive_name = p.get("ArchiveName", name)
        arguments: dict[str, Any] = {
            "ArchiveName": archive_name,
            "EventSourceArn": p["SourceArn"],
            "RetentionDays": int(p.get("RetentionDays", 0)),
        }
        if "EventPattern" in p:
            arguments["EventPattern"] = as_json_text(p["EventPattern"])
        arn = self.client("events").create_archive(**arguments)["ArchiveArn"]
        return ResolvedResource(archive_name, {"Arn": arn, "ArchiveName": archive_name})

    def _rule(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        rule_name = p.get("Name", name)
        bus = p.get("EventBusName", "default")
        trigger = (  # a rule matches events, or fires on a schedule (local.aws.schedules)
            {"ScheduleExpression": p["ScheduleExpression"]}
            if "ScheduleExpression" in p
            else {"EventPattern": as_json_text(p["EventPattern"])}
        )
        arn = self.client("events").put_rule(
            Name=rule_name, EventBusName=bus, State=p.get("State", "ENABLED"), **trigger
        )["RuleArn"]
        if p.get("Targets"):
            self.client("events").put_targets(
                Rule=rule_name, EventBusName=bus, Targets=p["Targets"]
            )
        return ResolvedResource(f"{bus}|{rule_name}", {"Arn": arn})

    def _bucket(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        bucket = p.get("BucketName", name.lower()[:63].rstrip("-"))  # as CloudFormation names it
        self.client("s3").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        return ResolvedResource(bucket, {"Arn": f"arn:aws:s3:::{bucket}"})

    def _queue(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        queue_name = p.get("QueueName", name)
        url = self.client("sqs").create_queue(QueueName=queue_name)["QueueUrl"]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_name}"
        return ResolvedResource(url, {"Arn": arn, "QueueName": queue_name, "QueueUrl": url})

    def _layer_version(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        """Named only: the handlers run in-process on the project's venv, which holds the
        layer's packages (the dependencies layer is requirements.txt)."""
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{p.get('LayerName', name)}:1"
        return ResolvedResource(arn, {"LayerVersionArn": arn})

    def _topic(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        arn = self.client("sns").create_topic(Name=p.get("TopicName", name))["TopicArn"]
        return ResolvedResource(arn, {"TopicArn": arn, "TopicName": arn.rsplit(":", 1)[-1]})

    def _alarm(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        """Created for real: operators' tools and tests can read the alarms locally too."""
        alarm_name = p.get("AlarmName", name)
        arguments = {
            key: p[key]
            for key in (
                "AlarmDescription", "AlarmActions", "MetricName", "Namespace", "Statistic",
                "Dimensions", "Period", "EvaluationPeriods", "Threshold",
                "ComparisonOperator", "TreatMissingData", "Metrics",
            )
            if key in p
        }  # fmt: skip
        arguments["Period"] = int(arguments["Period"]) if "Period" in arguments else 300
        arguments["EvaluationPeriods"] = int(arguments.get("EvaluationPeriods", 1))
        arguments["Threshold"] = float(arguments.get("Threshold", 0))
        if "Metrics" in arguments:
            arguments.pop("Period")
        self.client("cloudwatch").put_metric_alarm(AlarmName=alarm_name, **arguments)
        arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{alarm_name}"
        return ResolvedResource(alarm_name, {"Arn": arn})

    def _dashboard(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        dashboard_name = p.get("DashboardName", name)
        body = p["DashboardBody"]
        self.client("cloudwatch").put_dashboard(
            DashboardName=dashboard_name,
            DashboardBody=body if isinstance(body, str) else json.dumps(body),
        )
        return ResolvedResource(dashboard_name, {})

    # --- Secrets Manager ------------------------------------------------------------------------

    def _secret(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        arguments: dict[str, Any] = {"Name": p.get("Name", name)}
        if "Description" in p:
            arguments["Description"] = p["Description"]
        if "KmsKeyId" in p:
            arguments["KmsKeyId"] = p["KmsKeyId"]
        if "SecretString" in p:
            arguments["SecretString"] = p["SecretString"]
        elif "GenerateSecretString" in p:
            arguments["SecretString"] = self._generated_secret(p["GenerateSecretString"])
        # neither: an empty secret, as CloudFormation creates
        arn = self.client("secretsmanager").create_secret(**arguments)["ARN"]
        return ResolvedResource(arn, {"Id": arn})

    def _generated_secret(self, spec: Mapping[str, Any]) -> str:
        """A password as GenerateSecretString asks (Secrets Manager's GetRandomPassword)."""
        options = (
            "ExcludeCharacters",
            "ExcludeLowercase",
            "ExcludeNumbers",
            "ExcludePunctuation",
            "ExcludeUppercase",
            "IncludeSpace",
            "RequireEachIncludedType",
        )
        arguments: dict[str, Any] = {
            key: _as_bool(spec[key]) if key != "ExcludeCharacters" else spec[key]
            for key in options
            if key in spec
        }
        arguments["PasswordLength"] = int(spec.get("PasswordLength", 32))
        password = self.client("secretsmanager").get_random_password(**arguments)
        value = str(password["RandomPassword"])
        if "SecretStringTemplate" in spec:
            if "GenerateStringKey" not in spec:
                raise TemplateError("SecretStringTemplate needs GenerateStringKey")
            document = json.loads(spec["SecretStringTemplate"])
            document[spec["GenerateStringKey"]] = value
            return json.dumps(document)
        return value

    # --- EventBridge connections and API destinations ----------------------------------------

    def _connection(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        kind = p["AuthorizationType"]
        if kind not in ("API_KEY", "BASIC"):
            raise TemplateError(
                f"{name}: connection authorization {kind} is not delivered locally "
                "(API_KEY and BASIC are)"
            )
        connection_name = p.get("Name", name)
        arguments: dict[str, Any] = {
            "Name": connection_name,
            "AuthorizationType": kind,
            "AuthParameters": p["AuthParameters"],
        }
        if "Description" in p:
            arguments["Description"] = p["Description"]
        events = self.client("events")
        arn = events.create_connection(**arguments)["ConnectionArn"]
        secret_arn = events.describe_connection(Name=connection_name)["SecretArn"]
        return ResolvedResource(
            connection_name, {"Arn": arn, "ArnForPolicy": arn, "SecretArn": secret_arn}
        )

    def _api_destination(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        destination_name = p.get("Name", name)
        arguments: dict[str, Any] = {
            "Name": destination_name,
            "ConnectionArn": p["ConnectionArn"],
            "InvocationEndpoint": self._invocation_endpoint(str(p["InvocationEndpoint"])),
            "HttpMethod": p["HttpMethod"],
        }
        if "InvocationRateLimitPerSecond" in p:
            arguments["InvocationRateLimitPerSecond"] = int(p["InvocationRateLimitPerSecond"])
        if "Description" in p:
            arguments["Description"] = p["Description"]
        arn = self.client("events").create_api_destination(**arguments)["ApiDestinationArn"]
        return ResolvedResource(destination_name, {"Arn": arn, "ArnForPolicy": arn})

    def _invocation_endpoint(self, endpoint: str) -> str:
        for prefix, moved in self._api_destinations_under.items():
            if endpoint.startswith(prefix):
                return moved + endpoint[len(prefix) :]
        return self._api_destination_endpoint or endpoint

    # --- API Gateway HTTP APIs ---------------------------------------------------------------

    def _http_api_resource(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        if p.get("ProtocolType") != "HTTP":
            raise TemplateError(f"{name}: only HTTP APIs are served locally, not WebSocket")
        for unsupported in ("Body", "BodyS3Location", "Target", "CorsConfiguration"):
            if unsupported in p:
                raise TemplateError(f"{name}: the local gateway does not support {unsupported}")
        if self._http_api is not None:
            raise TemplateError(f"{name}: the local gateway serves one HTTP API per stack")
        arguments: dict[str, Any] = {"Name": p.get("Name", name), "ProtocolType": "HTTP"}
        if "Description" in p:
            arguments["Description"] = p["Description"]
        api = self.client("apigatewayv2").create_api(**arguments)
        self._http_api = HttpApi(api["ApiId"], api["Name"])
        endpoint = self._api_endpoint or api["ApiEndpoint"]
        return ResolvedResource(api["ApiId"], {"ApiEndpoint": endpoint, "ApiId": api["ApiId"]})

    def _served_api(self, name: str, api_id: str) -> HttpApi:
        if self._http_api is None or self._http_api.api_id != api_id:
            raise TemplateError(f"{name}: ApiId {api_id} is not this stack's HTTP API")
        return self._http_api

    def _integration(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        self._served_api(name, p["ApiId"])
        uri = str(p.get("IntegrationUri", ""))
        function = _LAMBDA_ARN.search(uri)
        if p.get("IntegrationType") != "AWS_PROXY" or function is None:
            raise TemplateError(f"{name}: only Lambda proxy integrations are served locally")
        version = str(p.get("PayloadFormatVersion", "1.0"))
        if version != "2.0":
            raise TemplateError(f"{name}: the local gateway speaks payload format 2.0 only")
        arguments: dict[str, Any] = {
            "ApiId": p["ApiId"],
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": uri,
            "PayloadFormatVersion": version,
        }
        if "IntegrationMethod" in p:
            arguments["IntegrationMethod"] = p["IntegrationMethod"]
        integration_id = self.client("apigatewayv2").create_integration(**arguments)[
            "IntegrationId"
        ]
        self._integrations[integration_id] = (function.group(1), version)
        return ResolvedResource(integration_id)

    def _route(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        api = self._served_api(name, p["ApiId"])
        if p.get("AuthorizationType", "NONE") != "NONE":
            raise TemplateError(f"{name}: the local gateway has no authorizers")
        target = str(p.get("Target", ""))
        integration_id = target.removeprefix("integrations/")
        if integration_id not in self._integrations:
            raise TemplateError(f"{name}: target {target!r} is not an integration of this API")
        route_id = self.client("apigatewayv2").create_route(
            ApiId=p["ApiId"],
            RouteKey=p["RouteKey"],
            Target=target,
            AuthorizationType="NONE",
        )["RouteId"]
        function_name, version = self._integrations[integration_id]
        api.routes.append(ApiRoute(p["RouteKey"], function_name, version))
        return ResolvedResource(route_id)

    def _stage(self, name: str, p: dict[str, Any]) -> ResolvedResource:
        api = self._served_api(name, p["ApiId"])
        self.client("apigatewayv2").create_stage(
            ApiId=p["ApiId"], StageName=p["StageName"], AutoDeploy=_as_bool(p.get("AutoDeploy"))
        )
        # with its throttling, which the local gateway enforces
        api.add_stage(p["StageName"], p.get("DefaultRouteSettings"), p.get("RouteSettings"))
        return ResolvedResource(p["StageName"])


def _as_bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _pseudo_parameters(stack_name: str) -> dict[str, str]:
    return {
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Region": REGION,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack_name,
        "AWS::NoValue": "",
    }


def _parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
    }


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "The local platform runs handlers from the working tree.")
    return buffer.getvalue()

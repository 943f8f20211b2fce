"""Where the platform writes, read from its deployed template and the local platform itself,
against what the secrets scan read: every resource type is a kind of store the scan reads, one
by one, or is named here as keeping nothing a run writes; every store of each kind, and every
one the stack's outputs name, must have been read; every file the local platform keeps too.
What is not a store is still in moto's saved backends, which the scan reads whole (KMS's
aside: it holds the keys by design)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

STORES = {  # resource type -> the kind of store (platform_material.LiveMaterial.sources)
    "AWS::DynamoDB::GlobalTable": "tables",
    "AWS::DynamoDB::Table": "tables",
    "AWS::S3::Bucket": "buckets",
    "AWS::SQS::Queue": "queues",
    "AWS::StepFunctions::StateMachine": "state_machines",  # executions and their histories
    "AWS::Events::Archive": "archives",
    "AWS::Logs::LogGroup": "log_groups",
    "AWS::SecretsManager::Secret": "secrets",
}
NOT_STORES = {  # resource type -> why no run writes anything in it
    "AWS::KMS::Key": "holds the keys the scan looks for, by design",
    "AWS::KMS::Alias": "a key's name",
    "AWS::IAM::Role": "permissions, set at deployment",
    "AWS::IAM::Policy": "permissions, set at deployment",
    "AWS::Lambda::Function": "code and settings, set at deployment",
    "AWS::Lambda::LayerVersion": "code, set at deployment",
    "AWS::Lambda::Permission": "permissions, set at deployment",
    "AWS::Events::EventBus": "carries events; its archive keeps them",
    "AWS::Events::Rule": "routes events",
    "AWS::Events::Connection": "credentials for deliveries, set at deployment",
    "AWS::Events::ApiDestination": "delivers (the receivers' logs keep what came)",
    "AWS::ApiGatewayV2::Api": "routes requests (the webhooks table and access logs keep them)",
    "AWS::ApiGatewayV2::Integration": "routes requests",
    "AWS::ApiGatewayV2::Route": "routes requests",
    "AWS::ApiGatewayV2::Stage": "routes requests",
    "AWS::CloudWatch::Alarm": "reads metrics, keeps none",
    "AWS::CloudWatch::Dashboard": "reads metrics, keeps none",
    "AWS::SNS::Topic": "sends alarm e-mail, keeps none",
    "AWS::SNS::Subscription": "an e-mail address, set at deployment",
    "AWS::SNS::TopicPolicy": "permissions, set at deployment",
    "AWS::SQS::QueuePolicy": "permissions, set at deployment",
    "AWS::S3::BucketPolicy": "permissions, set at deployment",
    "AWS::CDK::Metadata": "CDK's bookkeeping",
}
OUTPUTS = {  # a stack output's name ending -> the kind of store it names
    "TableName": "tables",
    "BucketName": "buckets",
    "QueueUrl": "queues",
    "StateMachineArn": "state_machines",
    "ArchiveArn": "archives",
    "SecretArn": "secrets",
}


def deployed_template() -> dict[str, Any]:
    """The template the local platform deploys (synthesized once per change of cdk/)."""
    from local.aws.deployer import synthesize

    return synthesize("local")


def unscanned(
    template: Mapping[str, Any], outputs: Mapping[str, str], sources: Mapping[str, set[str]]
) -> list[str]:
    """What the scan did not read: a resource type neither a store nor named as none, fewer
    stores of a kind read than the template has, a store an output names."""
    types = Counter(resource["Type"] for resource in template["Resources"].values())
    wanted: Counter[str] = Counter()
    for kind, count in types.items():
        if kind in STORES:
            wanted[STORES[kind]] += count
    unknown = sorted(set(types) - set(STORES) - set(NOT_STORES))
    return [
        *(f"{kind}: neither a store the scan reads nor named as none" for kind in unknown),
        *(f"{k}: {len(sources.get(k, ()))} read of {n}" for k, n in sorted(wanted.items())
          if len(sources.get(k, ())) < n),
        *(f"{name}: {value} not read" for name, value in sorted(outputs.items())
          if _named(name) and not _read(value, sources.get(_named(name), set()))),
    ]  # fmt: skip


def _named(output: str) -> str:
    return next((kind for end, kind in OUTPUTS.items() if output.endswith(end)), "")


def _read(value: str, read: Iterable[str]) -> bool:
    """An output names a store by name, URL or ARN; an archive's ARN ends with its name."""
    return any(value in (store, store.rsplit("/", 1)[-1]) or value.endswith(f"/{store}")
               for store in read)  # fmt: skip


def unread_files(platform: object, read: set[Path], snapshot: Path) -> list[str]:
    """Each file the local platform names (its logs, the provider's, the state file...) or
    keeps in a folder it names, that the scan did not read; the snapshot is read as backends."""
    named = [p for p in vars(platform).values() if isinstance(p, Path)]
    kept = [f for p in named for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return sorted(str(f) for f in kept if f not in read and f != snapshot)

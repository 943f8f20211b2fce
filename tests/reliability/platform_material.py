"""What a local platform in server mode holds, for the secrets scan: read through the AWS APIs
while it runs (every table, state machine's executions, bucket object and its versions, queue,
log group and secret; the frontend's notifications; the investors' seeds, decrypted by the
break-glass procedure of docs/operations.md, since no one but the signer may otherwise) and from
its moto snapshot once `down` has saved it (KMS keys, the bus's archives). Each store read is
named in `sources`, by kind, so a test can tell a store that was never read."""

from __future__ import annotations

import json
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from xrpl.constants import CryptoAlgorithm
from xrpl.wallet import Wallet

from local.aws.access import ADMINISTRATOR_ACCESS_KEY
from local.aws.deployer import ACCOUNT_ID
from local.aws.snapshot import Snapshot

PROBE = "a probe of the secrets scan"  # put in each queue, so reading one is seen to read it
SEED_PURPOSE = "drexfy-investor-seed"  # lambdas.custody.wallet_generator's, which binds tables
PLATFORM_KEYS = ("ISSUER_KEY_ID", "COMPANY_KEY_ID", "FUNDING_KEY_ID")
KMS_BACKENDS = ("moto.kms.models", "kms_backends")
EVENTS_BACKENDS = ("moto.events.models", "events_backends")


class PlatformApis:
    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.environment: dict[str, str] = state["function_environment"]
        self._session = boto3.Session(  # the scan reads everything: the administrator
            aws_access_key_id=ADMINISTRATOR_ACCESS_KEY,
            aws_secret_access_key=ADMINISTRATOR_ACCESS_KEY,
            region_name=state["region"],
        )

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self.state["endpoint_url"])


def items(apis: PlatformApis, table: str) -> Iterator[dict[str, Any]]:
    for page in apis.client("dynamodb").get_paginator("scan").paginate(TableName=table):
        yield from page["Items"]


def pages(client: Any, operation: str, key: str, **arguments: Any) -> Iterator[Any]:
    """Every entry `key` lists, over all pages."""
    for page in client.get_paginator(operation).paginate(**arguments):
        yield from page.get(key, [])


def investor_seeds(apis: PlatformApis) -> dict[str, str]:
    """Each investor's seed, decrypted under its encryption context; checked against the
    wallet's address, so a wrong decryption cannot pass for a seed."""
    kms, seeds = apis.client("kms"), {}
    with break_glass(apis, apis.environment["INVESTOR_SEED_KEY_ID"], "kms:Decrypt"):
        for item in items(apis, apis.environment["WALLETS_TABLE"]):
            investor_id, address = item["investor_id"]["S"], item["address"]["S"]
            context = {"purpose": SEED_PURPOSE, "investor_id": investor_id, "address": address}
            plaintext = kms.decrypt(
                CiphertextBlob=item["encrypted_seed"]["B"],
                KeyId=item["key_id"]["S"],
                EncryptionContext=context,
            )["Plaintext"]
            seed = plaintext.decode()
            assert Wallet.from_seed(seed, algorithm=CryptoAlgorithm.ED25519).address == address
            seeds[investor_id] = seed
    return seeds


@contextmanager
def break_glass(apis: PlatformApis, key_id: str, action: str) -> Iterator[None]:
    """docs/operations.md's break-glass: one statement added to the key policy for the block,
    then the key policy as it was (the account may change key policies, not use the keys)."""
    kms = apis.client("kms")
    kept = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    opened = json.loads(kept)
    opened["Statement"].append(
        {
            "Sid": "BreakGlassForTheSecretsScan",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
            "Action": action,
            "Resource": "*",
        }
    )
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(opened))
    try:
        yield
    finally:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=kept)


@dataclass
class LiveMaterial:
    """Everything read through the APIs, as (where, document) pairs by kind; object bodies as
    bytes; and the stores read, by kind ("tables", "buckets", ...)."""

    items: list[tuple[str, Any]] = field(default_factory=list)
    executions: list[tuple[str, Any]] = field(default_factory=list)
    history_events: list[tuple[str, Any]] = field(default_factory=list)
    notifications: list[tuple[str, Any]] = field(default_factory=list)
    objects: list[tuple[str, bytes]] = field(default_factory=list)
    messages: list[tuple[str, Any]] = field(default_factory=list)
    log_events: list[tuple[str, Any]] = field(default_factory=list)
    secret_values: list[tuple[str, Any]] = field(default_factory=list)
    archive_event_count: int = 0
    sources: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    executions_by_machine: dict[str, int] = field(default_factory=dict)


def live_material(apis: PlatformApis) -> LiveMaterial:
    material = LiveMaterial()
    for read in (_tables, _executions, _objects, _messages, _log_events, _secrets, _archives):
        read(apis, material)
    with urllib.request.urlopen(apis.state["notifications_url"], timeout=30) as response:
        received = json.loads(response.read())
    material.notifications = [("notification", n) for n in received]
    return material


def _tables(apis: PlatformApis, material: LiveMaterial) -> None:
    for table in pages(apis.client("dynamodb"), "list_tables", "TableNames"):
        material.sources["tables"].add(table)
        material.items += [(f"table {table}", item) for item in items(apis, table)]


def _executions(apis: PlatformApis, material: LiveMaterial) -> None:
    sfn = apis.client("stepfunctions")
    for machine in pages(sfn, "list_state_machines", "stateMachines"):
        machine_arn = machine["stateMachineArn"]
        material.sources["state_machines"].add(machine_arn)
        runs = list(pages(sfn, "list_executions", "executions", stateMachineArn=machine_arn))
        material.executions_by_machine[machine_arn] = len(runs)
        for arn in (run["executionArn"] for run in runs):
            material.executions.append((arn, sfn.describe_execution(executionArn=arn)))
            history = pages(sfn, "get_execution_history", "events", executionArn=arn)
            material.history_events += [(arn, event) for event in history]


def _objects(apis: PlatformApis, material: LiveMaterial) -> None:
    """Every version of every object (the servicing bucket keeps a report's earlier ones)."""
    s3 = apis.client("s3")
    for bucket in (b["Name"] for b in s3.list_buckets()["Buckets"]):
        material.sources["buckets"].add(bucket)
        for version in pages(s3, "list_object_versions", "Versions", Bucket=bucket):
            which = {} if version["VersionId"] == "null" else {"VersionId": version["VersionId"]}
            body = s3.get_object(Bucket=bucket, Key=version["Key"], **which)["Body"].read()
            where = f"s3://{bucket}/{version['Key']} {version['VersionId']}"
            material.objects.append((where, body))


def probe_queues(apis: PlatformApis) -> int:
    """A probe in each queue (dead letters are rare in a good run); how many queues."""
    sqs, urls = apis.client("sqs"), list(pages(apis.client("sqs"), "list_queues", "QueueUrls"))
    for url in urls:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"probe": PROBE}))
    return len(urls)


def _messages(apis: PlatformApis, material: LiveMaterial) -> None:
    """Every message of every queue, dead-letter queues too (each hidden once read)."""
    sqs = apis.client("sqs")
    for url in pages(sqs, "list_queues", "QueueUrls"):
        material.sources["queues"].add(url)
        while batch := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", []):  # fmt: skip
            material.messages += [(f"queue {url}", message) for message in batch]


def _log_events(apis: PlatformApis, material: LiveMaterial) -> None:
    logs = apis.client("logs")
    for group in pages(logs, "describe_log_groups", "logGroups"):
        name = group["logGroupName"]
        material.sources["log_groups"].add(name)
        events = pages(logs, "filter_log_events", "events", logGroupName=name)
        material.log_events += [(f"log group {name}", event) for event in events]


def _secrets(apis: PlatformApis, material: LiveMaterial) -> None:
    secrets = apis.client("secretsmanager")
    for arn in (s["ARN"] for s in pages(secrets, "list_secrets", "SecretList")):
        material.sources["secrets"].add(arn)
        material.secret_values.append((arn, secrets.get_secret_value(SecretId=arn)))


def _archives(apis: PlatformApis, material: LiveMaterial) -> None:
    """How many events the archives hold (the snapshot's, read after `down`, must be all)."""
    events = apis.client("events")
    for archive in events.list_archives().get("Archives", []):
        described = events.describe_archive(ArchiveName=archive["ArchiveName"])
        material.archive_event_count += int(described["EventCount"])


def _backends(snapshot: Snapshot, key: tuple[str, str]) -> Iterator[Any]:
    for regions in snapshot.backends.get(key, {}).values():
        yield from regions.values()


def kms_keys(snapshot: Snapshot) -> dict[str, Any]:
    """moto's KMS keys by id, with their key material."""
    return {key_id: key for backend in _backends(snapshot, KMS_BACKENDS) for key_id, key in
            backend.keys.items()}  # fmt: skip


def archives(snapshot: Snapshot) -> list[Any]:
    return [
        a for backend in _backends(snapshot, EVENTS_BACKENDS) for a in backend.archives.values()
    ]


def archived_events(snapshot: Snapshot) -> list[tuple[str, Any]]:
    return [(f"archive {a.name}", event) for a in archives(snapshot) for event in a.events]


def all_but_kms(snapshot: Snapshot) -> Iterator[tuple[str, Any]]:
    """Every saved backend but KMS's (which holds the keys by design), named by service."""
    for key, accounts in snapshot.backends.items():
        if key != KMS_BACKENDS:
            yield key[0], accounts


def files(home: Path, snapshot: Path, *more: Path) -> Iterator[Path]:
    """Every file the platform wrote (logs, the ledger's data, notifications, the provider's
    log) but the snapshot, and `more` (the state file, outside the home)."""
    for path in [*sorted(home.rglob("*")), *more]:
        if path.is_file() and path != snapshot:
            yield path

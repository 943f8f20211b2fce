"""What a local platform in server mode holds, for the secrets scan: read through the AWS APIs
while it runs (tables, executions, notifications; the investors' seeds, decrypted by the
break-glass procedure of docs/operations.md, since no one but the signer may otherwise) and from
its moto snapshot once `down` has saved it (KMS keys, the bus's archive)."""

from __future__ import annotations

import json
import urllib.request
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
    """Everything read through the APIs, as (where, document) pairs by kind."""

    items: list[tuple[str, Any]] = field(default_factory=list)
    executions: list[tuple[str, Any]] = field(default_factory=list)
    history_events: list[tuple[str, Any]] = field(default_factory=list)
    notifications: list[tuple[str, Any]] = field(default_factory=list)
    archive_event_count: int = 0


def live_material(apis: PlatformApis) -> LiveMaterial:
    material = LiveMaterial()
    for table in apis.client("dynamodb").list_tables()["TableNames"]:
        material.items += [(f"table {table}", item) for item in items(apis, table)]
    _executions(apis, material)
    with urllib.request.urlopen(apis.state["notifications_url"], timeout=30) as response:
        received = json.loads(response.read())
    material.notifications = [("notification", n) for n in received]
    archive = apis.state["stack"]["outputs"]["EventArchiveArn"].rsplit("/", 1)[1]
    events = apis.client("events")
    material.archive_event_count = events.describe_archive(ArchiveName=archive)["EventCount"]
    return material


def _executions(apis: PlatformApis, material: LiveMaterial) -> None:
    sfn = apis.client("stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=machine["stateMachineArn"]
        )
        for summary in (e for page in pages for e in page["executions"]):
            arn = summary["executionArn"]
            material.executions.append((arn, sfn.describe_execution(executionArn=arn)))
            history = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
            material.history_events += [(arn, e) for page in history for e in page["events"]]


def _backends(snapshot: Snapshot, key: tuple[str, str]) -> Iterator[Any]:
    for regions in snapshot.backends.get(key, {}).values():
        yield from regions.values()


def kms_keys(snapshot: Snapshot) -> dict[str, Any]:
    """moto's KMS keys by id, with their key material."""
    return {key_id: key for backend in _backends(snapshot, KMS_BACKENDS) for key_id, key in
            backend.keys.items()}  # fmt: skip


def archived_events(snapshot: Snapshot) -> list[tuple[str, Any]]:
    return [
        (f"archive {archive.name}", event)
        for backend in _backends(snapshot, EVENTS_BACKENDS)
        for archive in backend.archives.values()
        for event in archive.events
    ]


def all_but_kms(snapshot: Snapshot) -> Iterator[tuple[str, Any]]:
    """Every saved backend but KMS's (which holds the keys by design), named by service."""
    for key, accounts in snapshot.backends.items():
        if key != KMS_BACKENDS:
            yield key[0], accounts


def files(home: Path, snapshot: Path) -> Iterator[Path]:
    """Every file the platform wrote (logs, the ledger's data, notifications) but the snapshot."""
    for path in sorted(home.rglob("*")):
        if path.is_file() and path != snapshot:
            yield path

"""The moto snapshot behind `make down` / `make up`: what pickle cannot take is carried over."""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from local.aws import snapshot
from local.aws.deployer import ACCOUNT_ID, REGION
from local.aws.platform import LocalAws


class Holder:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.plain_lock = threading.Lock()
        self.key = ec.generate_private_key(ec.SECP256K1())
        self.items = {"a": self}
        self.by_name: weakref.WeakValueDictionary[str, Holder] = weakref.WeakValueDictionary(
            {"a": self}
        )
        self.aliases: defaultdict[str, dict[str, int]] = defaultdict(lambda: {})
        self.aliases["x"]["y"] = 1


def _round_trip(value: Any, tmp_path: Path) -> Any:
    path = tmp_path / "value.snapshot"
    snapshot.save(path, value)
    return snapshot.read(path).extra


def test_locks_keys_weak_maps_and_lambda_defaultdicts_survive(tmp_path: Path) -> None:
    original = Holder()
    copy = _round_trip(original, tmp_path)
    assert copy.lock.acquire(blocking=False) and copy.plain_lock.acquire(blocking=False)
    pem = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    none = serialization.NoEncryption()
    assert copy.key.private_bytes(*pem, none) == original.key.private_bytes(*pem, none)
    assert copy.by_name["a"] is copy  # the weak map points into the restored graph
    assert copy.aliases["new"] == {} and copy.aliases["x"] == {"y": 1}


def test_a_defaultdict_of_something_else_is_refused(tmp_path: Path) -> None:
    counts: defaultdict[str, int] = defaultdict(lambda: 7)
    try:
        _round_trip(counts, tmp_path)
    except snapshot.SnapshotError as refused:
        assert "7" in str(refused)
    else:
        raise AssertionError("a lambda making 7 cannot be rebuilt from its type")


class Writer:
    """Writes to the dict being saved while it is read, as a server thread can during a save."""

    def __init__(self, into: dict[str, Any], times: int) -> None:
        self.into, self.times = into, times

    def __reduce__(self) -> tuple[Any, ...]:
        if self.times:
            self.times -= 1
            self.into[f"late-{self.times}"] = 1
        return dict, ()


def test_a_dict_written_during_the_save_is_read_again(tmp_path: Path) -> None:
    saved: dict[str, Any] = {"b": 2}
    saved["a"] = Writer(saved, times=1)
    assert set(_round_trip(saved, tmp_path)) == {"a", "b", "late-0"}


def test_a_dict_written_during_every_attempt_fails_the_save(tmp_path: Path) -> None:
    saved: dict[str, Any] = {"b": 2}
    saved["a"] = Writer(saved, times=snapshot.SAVE_ATTEMPTS)
    try:
        _round_trip(saved, tmp_path)
    except RuntimeError as failed:
        assert "changed size during iteration" in str(failed)
    else:
        raise AssertionError("a save that never reads a still dict must not pass")
    assert not (tmp_path / "value.snapshot").exists()


def test_a_snapshot_of_the_platform_holds_its_tables_keys_and_workflows(
    aws: LocalAws, platform: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "aws.snapshot"
    assert snapshot.save(path, "extra") > 0
    restored = snapshot.read(path)
    assert restored.extra == "extra"

    def backend(module: str, name: str) -> Any:
        return restored.backends[(module, name)][ACCOUNT_ID][REGION]

    tables = backend("moto.dynamodb.models", "dynamodb_backends").tables
    instruments = aws.stack.function_environment["INSTRUMENTS_TABLE"]
    live = aws.client("dynamodb").scan(TableName=instruments)["Items"]
    assert len(live) > 0 and len(tables[instruments].all_items()) == len(live)

    keys = backend("moto.kms.models", "kms_backends").keys
    kms = aws.client("kms")
    issuer_key = kms.describe_key(KeyId=aws.stack.function_environment["ISSUER_KEY_ID"])
    public = kms.get_public_key(KeyId=issuer_key["KeyMetadata"]["KeyId"])["PublicKey"]
    restored_key = keys[issuer_key["KeyMetadata"]["KeyId"]]
    assert restored_key.private_key.public_key() == public  # same key: same platform address

    machines = backend("moto.stepfunctions.parser.models", "stepfunctions_parser_backends")
    arns = {machine.arn for machine in machines.state_machines}
    assert aws.stack.output("PurchaseStateMachineArn") in arns

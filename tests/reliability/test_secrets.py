"""Reliability: after an end-to-end run on the local platform in server mode (investors onboarded
by KYC webhooks, purchases delivered and refunded, an AML flag), no investor seed or private
key is in any log line, table item, execution (input, output, history), archived event,
notification, saved backend or file the platform wrote."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from local.aws.snapshot import Snapshot, read
from local.control import LocalPlatform
from local.demo import Demo
from tests.reliability import platform_material as material
from tests.reliability.report import record
from tests.reliability.secret_scan import (
    Scan,
    Secret,
    investor_seed,
    key_material,
    kms_private_key,
)
from tests.support.local_platform import platform_in

INVESTORS = ("inv-ada", "inv-bob", "inv-cy")
# At least this much of each kind must have been read, or the scan proves little.
ENOUGH = {
    "log_lines": 30,  # the handlers log a line per decision, not per step
    "items": 30,
    "executions": 7,
    "history_events": 200,
    "archived_events": 10,
    "notifications": 4,
    "saved_strings": 3_000,
}


@pytest.fixture
def local_platform(tmp_path: Path) -> Iterator[LocalPlatform]:
    with platform_in(tmp_path, settle_seconds=30) as platform:
        yield platform


def run_story(demo: Demo) -> None:
    """Three investors onboarded; a purchase delivered, one refunded, one more delivered; then
    an AML flag freezes an investor holding units."""
    for investor_id in INVESTORS:
        onboarded = json.loads(demo.kyc("kyc.approved", investor_id)["output"])
        assert onboarded["status"] == "ACTIVE", onboarded
    delivered = demo.purchase(demo.pay("sec-pay-1", "inv-ada", "SME-2027-A", 2, "200.00"))
    assert delivered["status"] == "DELIVERED", delivered
    refunded = demo.purchase(demo.pay("sec-pay-2", "inv-bob", "SME-2027-A", 3, "250.00"))
    assert refunded["status"] == "REFUNDED", refunded
    delivered = demo.purchase(demo.pay("sec-pay-3", "inv-cy", "SME-2028-B", 1, "250.00"))
    assert delivered["status"] == "DELIVERED", delivered
    flagged = demo.kyc("aml.flagged", "inv-cy", reason="sanctions list match")
    assert flagged["status"] == "SUCCEEDED", flagged


def secrets_of(
    seeds: dict[str, str], snapshot: Snapshot, environment: dict[str, str]
) -> list[Secret]:
    keys = material.kms_keys(snapshot)
    found = [investor_seed(investor_id, seed) for investor_id, seed in seeds.items()]
    for name in material.PLATFORM_KEYS:
        label = f"{name.removesuffix('_KEY_ID').lower()} account's KMS key"
        found.append(kms_private_key(label, keys[environment[name]].private_key.private_key))
    seed_key = keys[environment["INVESTOR_SEED_KEY_ID"]]
    found.append(key_material("the investor seeds' KMS key", seed_key.key_material))
    return found


def scan_all(
    scan: Scan, live: material.LiveMaterial, snapshot: Snapshot, platform: LocalPlatform
) -> None:
    for kind in ("items", "executions", "history_events", "notifications"):
        for where, document in getattr(live, kind):
            scan.document(kind, where, document)
    for where, event in material.archived_events(snapshot):
        scan.document("archived_events", where, event)
    for path in material.files(platform.home, platform.snapshot):
        if path.suffix in (".log", ".jsonl"):
            scan.lines("log_lines", str(path), path.read_bytes())
        else:
            scan.data("other_files", str(path), path.read_bytes())
    for service, backends in material.all_but_kms(snapshot):
        scan.objects("saved_strings", service, backends)


def planted_are_found(secrets: list[Secret], live: material.LiveMaterial) -> list[str]:
    """The scanner on copies of real material with secrets planted in each way it reads: what
    it found (the test expects each plant, and nothing else)."""
    seed, issuer, company, funding = secrets[0], secrets[-4], secrets[-3], secrets[-2]
    scan = Scan(secrets)
    item = copy.deepcopy(live.items[0][1])
    item["note"] = {"S": f"debug: {seed.forms[0]}"}
    scan.document("items", "planted item", item)
    line = json.dumps({"level": "INFO", "message": "signing", "key": issuer.forms[0]})
    scan.lines("log_lines", "planted log", f"first line\n{line}\n".encode())
    event = copy.deepcopy(live.history_events[-1][1])
    event["taskSucceededEventDetails"] = {"output": json.dumps({"k": company.forms[2]})}
    scan.document("history_events", "planted event", event)
    scan.objects("saved_strings", "planted object", {"x": [SimpleNamespace(blob=funding.raw)]})
    return scan.found


def test_no_seed_or_private_key_is_anywhere_after_an_end_to_end_run(
    local_platform: LocalPlatform,
) -> None:
    running = local_platform.up()
    state = json.loads(local_platform.state_file.read_text())
    run_story(Demo(state, running.ledger_url))
    apis = material.PlatformApis(state)
    seeds = material.investor_seeds(apis)
    live = material.live_material(apis)
    assert local_platform.down() is not None
    snapshot = read(local_platform.snapshot)
    secrets = secrets_of(seeds, snapshot, apis.environment)

    planted = planted_are_found(secrets, live)
    scan = Scan(secrets)
    scan_all(scan, live, snapshot, local_platform)

    looked_at = {kind: scan.looked_at[kind] for kind in ENOUGH}
    webhook_records = sum(apis.environment["WEBHOOKS_TABLE"] in where for where, _ in live.items)
    enough = all(looked_at[kind] >= least for kind, least in ENOUGH.items())
    archive_complete = looked_at["archived_events"] == live.archive_event_count
    passed = not scan.found and len(planted) == 4 and enough and archive_complete
    figures = {**looked_at, "other_files": scan.looked_at["other_files"]}
    record("secrets", "end-to-end scan", passed, secrets=len(secrets), **figures,
           webhook_records=webhook_records, found=len(scan.found))  # fmt: skip
    assert sorted(seeds) == sorted(INVESTORS) and len(secrets) == len(INVESTORS) + 4
    assert [p.split(" (")[0].split(" in ")[0] for p in planted] == [
        secrets[0].label,
        secrets[-4].label,
        secrets[-3].label,
        secrets[-2].label,
    ], planted
    assert enough and archive_complete, (looked_at, live.archive_event_count)
    assert webhook_records >= len(INVESTORS) + 4, webhook_records
    assert scan.found == [], scan.found

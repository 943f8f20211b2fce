"""Reliability: after an end-to-end run on the local platform in server mode in which every
workflow runs (tests/reliability/secrets_story.py), no investor seed or private key is in
anything the platform wrote: any table item, bucket object (every version; a PDF's compressed
streams too), queue message (dead letters too), execution (input, output, history) of any state
machine, archived event, log group, secret, notification, saved backend, log line or file (the
provider stand-in's log and the state files too). A store the deployed template has, or a file
the local platform keeps, that the scan did not read fails the test."""

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
from tests.reliability import secrets_stores as stores
from tests.reliability.report import record
from tests.reliability.secret_scan import (
    Scan,
    Secret,
    investor_seed,
    key_material,
    kms_private_key,
)
from tests.reliability.secrets_story import INVESTORS, run_story
from tests.support.local_platform import platform_in

# At least this much of each kind must have been read, or the scan proves little.
ENOUGH = {
    "log_lines": 30,  # the handlers log a line per decision, not per step
    "items": 30,
    "executions": 12,
    "history_events": 400,
    "archived_events": 20,
    "notifications": 4,
    "objects": 4,  # a distribution's holders and report, a statement's CSV and PDF
    "objects inflated": 1,  # the PDF's text
    "messages": 2,  # the probes, one a queue
    "secret_values": 6,
    "saved_strings": 3_000,
}


@pytest.fixture
def local_platform(tmp_path: Path) -> Iterator[LocalPlatform]:
    with platform_in(tmp_path, settle_seconds=30) as platform:
        yield platform


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


DOCUMENTS = ("items", "executions", "history_events", "notifications", "messages", "log_events",
             "secret_values")  # fmt: skip


def scan_all(
    scan: Scan, live: material.LiveMaterial, snapshot: Snapshot, platform: LocalPlatform
) -> set[Path]:
    """Everything scanned; the files read."""
    for kind in DOCUMENTS:
        for where, document in getattr(live, kind):
            scan.document(kind, where, document)
    for where, body in live.objects:
        scan.stored("objects", where, body)
    for where, event in material.archived_events(snapshot):
        scan.document("archived_events", where, event)
    live.sources["archives"] |= {archive.name for archive in material.archives(snapshot)}
    read = set(material.files(platform.home, platform.snapshot, platform.state_file))
    for path in sorted(read):
        if path.suffix in (".log", ".jsonl"):
            scan.lines("log_lines", str(path), path.read_bytes())
        else:
            scan.data("other_files", str(path), path.read_bytes())
    for service, backends in material.all_but_kms(snapshot):
        scan.objects("saved_strings", service, backends)
    return read


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
    scan.stored("objects", "planted PDF", a_pdf(f"statement of {seed.forms[0]}"))
    return scan.found


def a_pdf(text: str) -> bytes:
    """A PDF as the platform makes statements (fpdf2 compresses the page's text)."""
    from fpdf import FPDF

    page = FPDF()
    page.add_page()
    page.set_font("Helvetica", size=9)
    page.cell(0, 5, text)
    return bytes(page.output())


def unread_stores(
    live: material.LiveMaterial, outputs: dict[str, str], read: set[Path], platform: LocalPlatform
) -> list[str]:
    """Stores the template has, or files the platform keeps, that the scan did not read;
    workflows that never ran (their history is not there to read); queues whose probe was not
    read back."""
    probed = {
        where.removeprefix("queue ") for where, m in live.messages if material.PROBE in m["Body"]
    }
    idle = [arn for arn, runs in live.executions_by_machine.items() if not runs]
    return [
        *stores.unscanned(stores.deployed_template(), outputs, live.sources),
        *stores.unread_files(platform, read, platform.snapshot),
        *(f"no execution of {arn} to read" for arn in idle),
        *(f"{url}: its probe was not read" for url in sorted(live.sources["queues"] - probed)),
    ]


def test_no_seed_or_private_key_is_anywhere_after_an_end_to_end_run(
    local_platform: LocalPlatform,
) -> None:
    running = local_platform.up()
    state = json.loads(local_platform.state_file.read_text())
    apis = material.PlatformApis(state)
    run_story(Demo(state, running.ledger_url), apis)
    seeds = material.investor_seeds(apis)
    queues = material.probe_queues(apis)
    live = material.live_material(apis)
    assert local_platform.down() is not None
    snapshot = read(local_platform.snapshot)
    secrets = secrets_of(seeds, snapshot, apis.environment)

    planted = planted_are_found(secrets, live)
    scan = Scan(secrets)
    read_files = scan_all(scan, live, snapshot, local_platform)
    unread = unread_stores(live, state["stack"]["outputs"], read_files, local_platform)

    looked_at = {kind: scan.looked_at[kind] for kind in ENOUGH}
    webhook_records = sum(apis.environment["WEBHOOKS_TABLE"] in where for where, _ in live.items)
    enough = all(looked_at[kind] >= least for kind, least in ENOUGH.items())
    archive_complete = looked_at["archived_events"] == live.archive_event_count
    passed = not scan.found and len(planted) == 5 and enough and archive_complete and not unread
    figures = {**looked_at, "other_files": scan.looked_at["other_files"]}
    stores_read = {f"{kind}_read": len(names) for kind, names in live.sources.items()}
    record("secrets", "end-to-end scan", passed, secrets=len(secrets), **figures,
           **stores_read, webhook_records=webhook_records, unread_stores=len(unread),
           found=len(scan.found))  # fmt: skip
    assert sorted(seeds) == sorted(INVESTORS) and len(secrets) == len(INVESTORS) + 4
    assert [p.split(" (")[0].split(" in ")[0] for p in planted] == [
        secrets[0].label,
        secrets[-4].label,
        secrets[-3].label,
        secrets[-2].label,
        secrets[0].label,
    ], planted
    assert enough and archive_complete, (looked_at, live.archive_event_count)
    assert queues == len(live.sources["queues"]) and unread == [], unread
    assert webhook_records >= len(INVESTORS) + 4, webhook_records
    assert scan.found == [], scan.found

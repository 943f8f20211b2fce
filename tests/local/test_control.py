"""`make up` / `make down`: the local platform as a service whose state survives a restart."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.control import LocalPlatform
from local.demo import Demo
from tests.support.local_platform import platform_in
from tests.support.waiting import wait_for


@pytest.fixture
def local_platform(tmp_path: Path) -> Iterator[LocalPlatform]:
    with platform_in(tmp_path, settle_seconds=0) as platform:
        yield platform


def _ops(platform: LocalPlatform, *args: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-m", "ops.cli", "--state-file", str(platform.state_file), "--json",
         *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _demo(platform: LocalPlatform) -> Demo:
    running = platform.running()
    assert running is not None
    return Demo(json.loads(platform.state_file.read_text()), running.ledger_url)


def test_state_survives_down_and_up_and_a_stopped_purchase_is_redriven(
    local_platform: LocalPlatform,
) -> None:
    local_platform.up()
    demo = _demo(local_platform)
    assert json.loads(demo.kyc("kyc.approved", "inv-keep")["output"])["status"] == "ACTIVE"
    first = demo.purchase(demo.pay("keep-pay-1", "inv-keep", "SME-2027-A", 2, "200.00"))
    assert first["status"] == "DELIVERED"
    addresses = {a["account"]: a["address"] for a in _ops(local_platform, "accounts")["accounts"]}
    demo.pay("keep-pay-2", "inv-keep", "SME-2027-A", 3, "300.00")
    wait_for(lambda: len(_ops(local_platform, "purchases")) == 2, timeout=60)

    said = local_platform.down()  # no time to settle: the second purchase is cut short
    assert said is not None and "executions stopped: 1" in said[0]
    assert local_platform.running() is None

    running = local_platform.up()
    assert "restored=yes" in running.ready_lines[1]
    books = _ops(local_platform, "accounts")
    assert {a["account"]: a["address"] for a in books["accounts"]} == addresses  # same KMS keys
    purchases = {p["units"]: p for p in _ops(local_platform, "purchases")}
    assert purchases[2]["status"] == "DELIVERED"
    stopped = purchases[3]
    assert stopped["status"] not in ("DELIVERED", "REFUNDED")

    _ops(local_platform, "redrive", stopped["purchase_id"], "--wait")
    finished = _ops(local_platform, "purchase", stopped["purchase_id"])
    assert finished["status"] == "DELIVERED"
    books = _ops(local_platform, "accounts")
    sold = {i["instrument"]: i for i in books["instruments"]}["SME-2027-A"]
    assert sold["on_ledger"] == sold["sold"] == 5
    lines = local_platform.notifications_log.read_text().splitlines()
    kinds = [json.loads(line)["body"]["type"] for line in lines]
    assert kinds.count("WalletReady") == 1 and kinds.count("PurchaseCompleted") == 2

"""`python -m ops.smoke --stack NAME` and `python -m local.demo --stack NAME` against the embedded
platform in server mode, standing in for a deployed stack: addressed by name only (credentials
and the endpoint in the environment), the providers' secrets read from Secrets Manager, a ledger
that closes on its own clock. The smoke checks pass on a healthy platform, and fail naming the
step when a secret is wrong or the ledger stopped; the demo tells its story with investors of its
own, pays and redeems an instrument of its own, and leaves its investors blocked."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from local.ledger_server import GENESIS_SEED, LocalLedger
from local.processes import PROJECT_ROOT, start_module
from tests.ops.test_bootstrap_after_deploy import administrator, aws_environment


@pytest.fixture(scope="module")
def network() -> Iterator[LocalLedger]:
    """A ledger of this module's own that closes every second, as a network does."""
    with LocalLedger(close_interval_ms=1000) as running:
        yield running


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, network: LocalLedger) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("smoke")
    urls = ",".join(network.rpc_urls)
    server = start_module(
        "local.aws",
        ["--state-file", str(home / "aws.json"), "--set-env", f"XRPL_URLS={urls}",
         "--set-env", "LEDGER_CLOSE_SECONDS=1"],
        "local aws ready",
        log_path=home / "aws.log",
    )  # fmt: skip
    try:
        state = json.loads((home / "aws.json").read_text())
        configured = run("ops.bootstrap", state, "--fund-from-seed", GENESIS_SEED)
        assert configured.returncode == 0, configured.stderr
        yield state
    finally:
        server.stop()


def run(module: str, state: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", module, "--stack", state["stack"]["name"], *args]
    return subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, env=aws_environment(state),
        timeout=900,
    )  # fmt: skip


def secrets(state: dict[str, Any]) -> Any:
    return administrator(state, "secretsmanager")


def test_the_smoke_checks_pass_on_a_healthy_platform(deployed: dict[str, Any]) -> None:
    passed = run("ops.smoke", deployed, "--timeout", "120")

    assert passed.returncode == 0, passed.stdout + passed.stderr
    lines = passed.stdout.splitlines()
    assert sum(line.startswith("OK ") for line in lines) == 8, passed.stdout
    assert any("DELIVERED" in line for line in lines)
    assert any("REFUNDED" in line for line in lines)
    blocked = next(line for line in lines if line.startswith("OK      the test investor is"))
    assert "BLOCKED: the test investor of a smoke run" in blocked
    assert lines[-1] == "all 8 checks passed"


def test_the_demo_tells_its_story_to_the_stack_and_blocks_its_investors(
    deployed: dict[str, Any],
) -> None:
    from ops.smoke import Smoke

    told = run("local.demo", deployed)

    assert told.returncode == 0, told.stdout[-4000:] + told.stderr[-2000:]
    (run_ids,) = set(re.findall(r"(demo-\d{8}T\d{6}-)inv-", told.stdout))
    assert "UNEXPECTED" not in told.stdout
    assert f"OK: {run_ids}inv-ada's statement ties" in told.stdout
    statements = re.findall(r"OK: (\S+)'s statement ties", told.stdout)
    assert all(s.startswith(run_ids) for s in statements), statements  # the run's own only
    assert "OK: SME-2027-A's register reads back the ledger" in told.stdout
    # Servicing and money out on the run's own instrument, never on one real holders hold.
    own = "DEMO-" + run_ids.removeprefix("demo-").rstrip("-")
    for outcome in (
        f"{own} is listed", f"Ada's purchase of {own} delivered",
        "the units are taken back and the issuance destroyed",
        "the withdrawal is redeemed and its payout asked for (or already paid)",
        "25.00 EUR left Ada's wallet", f"{own}'s register reads back the ledger",
    ):  # fmt: skip
        assert f"OK: {outcome}" in told.stdout, outcome
    assert len(re.findall(r"OK: Ada is paid exactly on", told.stdout)) >= 2
    assert "SME-2027-A's distribution" not in told.stdout
    outputs = deployed["stack"]["outputs"]
    store = secrets(deployed)

    def secret(output: str) -> str:
        return str(store.get_secret_value(SecretId=outputs[output])["SecretString"])

    smoke = Smoke(outputs, secret, lambda _: None, deployed["stack"]["name"], timeout=60)
    for name in ("ada", "bob"):
        investor = f"{run_ids}inv-{name}"
        blocked = smoke.until(
            f"{investor} blocked",
            lambda i=investor: smoke.frontend(f"/investors/{i}").body.get("status") == "BLOCKED",
        )
        assert blocked


def test_a_secret_changed_on_one_side_fails_the_step_that_needs_it(
    deployed: dict[str, Any],
) -> None:
    """The KYC provider's key replaced in Secrets Manager while the door still holds the one it
    read (for five minutes): the provider's webhooks are refused, and the smoke says where."""
    arn = deployed["stack"]["outputs"]["KycWebhookSecretArn"]
    secrets(deployed).put_secret_value(SecretId=arn, SecretString="a key the door never read")

    failed = run("ops.smoke", deployed, "--timeout", "20")

    assert failed.returncode == 1, failed.stdout
    assert "FAILED  a test investor is onboarded: KYC approval answered 401" in failed.stdout
    assert "SKIPPED one purchase is delivered" in failed.stdout
    assert failed.stderr.startswith("4 of 8 failed: a test investor is onboarded;"), failed.stderr


def test_a_stopped_ledger_fails_onboarding_with_the_step_named(
    deployed: dict[str, Any], network: LocalLedger
) -> None:
    arn = deployed["stack"]["outputs"]["KycWebhookSecretArn"]
    current = secrets(deployed).get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")
    secrets(deployed).put_secret_value(SecretId=arn, SecretString=current["SecretString"])
    network.stop()

    failed = run("ops.smoke", deployed, "--timeout", "20")

    assert failed.returncode == 1, failed.stdout
    assert "FAILED  a test investor is onboarded:" in failed.stdout, failed.stdout
    assert "not within 20 s" in failed.stdout

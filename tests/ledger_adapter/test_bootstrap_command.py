"""`python -m ops.bootstrap` against the embedded AWS server and the local ledger, twice."""

import subprocess
import sys
from pathlib import Path

from local.ledger_server import GENESIS_SEED, LocalLedger
from local.processes import PROJECT_ROOT, start_module


def test_the_bootstrap_command_configures_once_then_does_nothing(
    tmp_path: Path, ledger: LocalLedger
) -> None:
    state = tmp_path / "aws.json"
    server = start_module(
        "local.aws",
        ["--state-file", str(state), "--set-env", f"XRPL_URLS={ledger.rpc_url}"],
        "local aws ready",
        log_path=tmp_path / "aws.log",
    )
    command = [
        sys.executable, "-m", "ops.bootstrap", "--state-file", str(state),
        "--ledger-url", ledger.rpc_url, "--fund-from-seed", GENESIS_SEED, "--close-ledgers",
    ]  # fmt: skip
    try:
        first = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
        second = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    finally:
        server.stop()
    assert first.returncode == 0, first.stderr
    assert "bootstrap#issuer#flag#2" in first.stdout
    assert "catalogue: SME-2027-A" in first.stdout
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "nothing to do: the ledger is already configured"

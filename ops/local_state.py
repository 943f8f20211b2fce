"""Operator commands read the platform's configuration the way a Lambda does, from the
environment; for the local platform it comes from the state file `python -m local.aws` writes.
Call this before the first call into lambdas (their configuration is read once, on first use)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from local.aws.access import ADMINISTRATOR_ACCESS_KEY


def use_local_platform(state_file: Path, ledger_url: str | None = None) -> None:
    state = json.loads(state_file.read_text())
    os.environ.update(state["function_environment"])
    if state.get("endpoint_url"):  # none when the platform runs in this very process
        os.environ["AWS_ENDPOINT_URL"] = state["endpoint_url"]
    # The local account's administrator; `drexfy-ops --role-arn` acts as the operators' role.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", ADMINISTRATOR_ACCESS_KEY)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", ADMINISTRATOR_ACCESS_KEY)
    region = state.get("region", "eu-west-1")
    os.environ.setdefault("AWS_REGION", region)  # what Lambda sets; boto3 reads the next one
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    # A ledger the platform already lists keeps the platform's servers, and their quorum.
    if ledger_url and ledger_url not in os.environ.get("XRPL_URLS", "").split(","):
        os.environ["XRPL_URLS"] = ledger_url

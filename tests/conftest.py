"""Shared fixtures: the embedded AWS platform, deployed once per test process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.aws.platform import LocalAws, in_process
from local.ledger import LocalLedger


@pytest.fixture(scope="session")
def ledger() -> Iterator[LocalLedger]:
    """The project's local XRPL ledger, standalone: ledgers close when a test says so."""
    with LocalLedger(close_interval_ms=0) as running:
        yield running


@pytest.fixture(scope="session")
def aws(ledger: LocalLedger) -> Iterator[LocalAws]:
    """moto in-process with the CDK-synthesized platform deployed; Retry/Wait made instant.

    The Lambdas' XRPL_URL points at the session's local ledger."""
    with in_process({"XRPL_URL": ledger.rpc_url}, instant_workflows=True) as platform:
        yield platform


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until predicate returns something truthy; fail with what it last returned."""
    deadline = time.monotonic() + timeout
    result = predicate()
    while not result and time.monotonic() < deadline:
        time.sleep(interval)
        result = predicate()
    assert result, f"condition not met within {timeout}s"
    return result

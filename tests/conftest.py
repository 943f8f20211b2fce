"""Shared fixtures: the embedded AWS platform, deployed once per test process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.aws.platform import LocalAws, in_process


@pytest.fixture(scope="session")
def aws() -> Iterator[LocalAws]:
    """moto in-process with the CDK-synthesized platform deployed; Retry/Wait made instant."""
    with in_process(instant_workflows=True) as platform:
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

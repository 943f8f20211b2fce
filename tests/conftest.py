"""Shared fixtures: the embedded AWS platform, deployed once per test process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.aws.platform import LocalAws, in_process
from local.ledger import LocalLedger
from tests.reliability import report
from tests.support import grants


def pytest_sessionstart(session: pytest.Session) -> None:
    """A run's reliability table holds this run's cases only (xdist workers share the folder)."""
    if not hasattr(session.config, "workerinput"):
        for stale in report.RESULTS_DIR.glob("*.jsonl"):
            stale.unlink()
        grants.clear()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    cases = report.load()
    if cases:
        terminalreporter.write_sep("=", "reliability")
        terminalreporter.write_line(report.table(cases))
    unused = grants.report()
    if unused:
        terminalreporter.write_sep("=", "grants no call of this run exercised")
        for line in unused:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def ledger() -> Iterator[LocalLedger]:
    """The project's local XRPL ledger, standalone: ledgers close when a test says so. It serves
    the chain on two JSON-RPC ports, as two servers of one network."""
    with LocalLedger(close_interval_ms=0) as running:
        yield running


@pytest.fixture(scope="session")
def aws(ledger: LocalLedger) -> Iterator[LocalAws]:
    """moto in-process with the CDK-synthesized platform deployed; Retry/Wait made instant.

    The Lambdas' XRPL_URLS are both ports of the session's local ledger: every decision needs
    the two to agree."""
    with in_process({"XRPL_URLS": ",".join(ledger.rpc_urls)}, instant_workflows=True) as platform:
        yield platform
        grants.write(platform.stack)


@pytest.fixture(autouse=True)
def handler_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each function in its own process, unless the test patches handler code in this one."""
    from local.aws import lambda_runtime

    in_process = request.node.get_closest_marker("handlers_in_test_process") is not None
    lambda_runtime.Isolation.enabled = not in_process
    yield
    lambda_runtime.Isolation.enabled = True


@pytest.fixture(autouse=True)
def ledger_closes_on_waits(ledger: LocalLedger) -> Iterator[None]:
    """Each Wait state of a workflow closes one ledger, as the network would have meanwhile."""
    from local.aws import patches

    patches.WorkflowClock.on_wait = lambda: ledger.close_ledger() and None
    yield
    patches.WorkflowClock.on_wait = None


@pytest.fixture(scope="session")
def platform(aws: LocalAws, ledger: LocalLedger) -> dict[str, Any]:
    """The ledger bootstrapped for the platform (accounts, issuer flags, catalogue, tickets),
    run twice so tests can check the second run changed nothing."""
    from domain.instruments import load_catalogue
    from lambdas.custody import signers
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.ledger.client import LedgerClient
    from lambdas.ledger.submission import LedgerSubmitter
    from local.aws.deployer import PROJECT_ROOT
    from ops.platform_bootstrap import PlatformBootstrap
    from tests.support.ledger import accept, fund

    catalogue = load_catalogue((PROJECT_ROOT / "catalogue/instruments.json").read_text())
    accounts = platform_accounts()
    fund(ledger.rpc_url, accounts.funding, 1_000)
    client = LedgerClient(ledger.rpc_url)
    submitter = LedgerSubmitter.for_ledger(client.url)
    signing = {role: signers.platform_signer(role) for role in ("issuer", "company", "funding")}

    def bootstrap() -> list[str]:
        return PlatformBootstrap(submitter, accounts, signing, lambda: accept(ledger.rpc_url)).run(
            catalogue
        )

    def transaction_count() -> int:
        return sum(int(client.account_root(a)["Sequence"]) for a in accounts.roles().values())

    first = bootstrap()
    after_first = transaction_count()
    second = bootstrap()
    return {
        "accounts": accounts,
        "client": client,
        "catalogue": catalogue,
        "first": first,
        "second": second,
        "tx_counts": (after_first, transaction_count()),
        "tickets": submitter.tickets,
    }


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until predicate returns something truthy; fail with what it last returned."""
    deadline = time.monotonic() + timeout
    result = predicate()
    while not result and time.monotonic() < deadline:
        time.sleep(interval)
        result = predicate()
    assert result, f"condition not met within {timeout}s"
    return result
